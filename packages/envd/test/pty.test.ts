import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CommandHandle } from "e2b";
import { connectSdk, ensureTestUser, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

/** Terminal output as text, with a way to wait for something to appear after a mark. */
function screen() {
  const decoder = new TextDecoder();
  let text = "";
  let waiter: (() => void) | undefined;
  return {
    onData(data: Uint8Array) {
      text += decoder.decode(data, { stream: true });
      waiter?.();
    },
    get text() {
      return text;
    },
    /** Resolves once `pattern` matches output received after position `from` (the test timeout bounds it). */
    async until(pattern: RegExp, from = 0): Promise<string> {
      for (;;) {
        const match = pattern.exec(text.slice(from));
        if (match) return match[0];
        await new Promise<void>((resolve) => (waiter = resolve));
      }
    },
  };
}

const input = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("PTYs through the SDK", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  const handles: CommandHandle[] = [];
  before(async () => {
    ensureTestUser();
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    for (const handle of handles) await handle.kill().catch(() => false);
    await sdk?.close();
    await envd?.close();
  });

  async function createPty(term: ReturnType<typeof screen>, options: { user?: string } = {}): Promise<CommandHandle> {
    const handle = await sdk.sandbox.pty.create({ cols: 80, rows: 24, onData: (data) => term.onData(data), timeoutMs: 0, ...options });
    handles.push(handle);
    return handle;
  }

  /** A prompt the test can wait for, so keys are typed only when the shell reads them (split quotes: the echo must not match). */
  async function setPrompt(handle: CommandHandle, term: ReturnType<typeof screen>): Promise<void> {
    const mark = term.text.length;
    await sdk.sandbox.pty.sendInput(handle.pid, input("PS1='READY''> '\n"));
    await term.until(/READY> /, mark);
  }

  it("creates a pty of the requested size, resizes it, and kill ends it", async () => {
    const term = screen();
    const handle = await createPty(term);
    await sdk.sandbox.pty.sendInput(handle.pid, input("stty size; echo term=$TERM\n"));
    await term.until(/^24 80\r?$/m);
    await term.until(/^term=xterm-256color\r?$/m);
    const mark = term.text.length;
    await sdk.sandbox.pty.resize(handle.pid, { cols: 100, rows: 30 });
    await sdk.sandbox.pty.sendInput(handle.pid, input("stty size\n"));
    await term.until(/^30 100\r?$/m, mark);
    assert.equal(await sdk.sandbox.pty.kill(handle.pid), true);
    await assert.rejects(handle.wait(), /signal: killed/);
    assert.equal(await sdk.sandbox.pty.kill(handle.pid), false);
  });

  it("ends with exit code 0 when the shell exits", async () => {
    const term = screen();
    const handle = await createPty(term);
    await sdk.sandbox.pty.sendInput(handle.pid, input("exit 0\n"));
    const result = await handle.wait();
    assert.equal(result.exitCode, 0);
  });

  it("runs as the requested user with a controlling terminal", async () => {
    const term = screen();
    const handle = await createPty(term, { user: "user" });
    await sdk.sandbox.pty.sendInput(handle.pid, input("echo who=$(id -un) tty=$(tty)\n"));
    await term.until(/who=user tty=\/dev\/pts\/\d+/);
    await sdk.sandbox.pty.sendInput(handle.pid, input("exit\n"));
    await handle.wait();
  });

  it("refuses to close stdin of a pty", async () => {
    const term = screen();
    const handle = await createPty(term);
    await assert.rejects(sdk.sandbox.commands.closeStdin(handle.pid), /pty/);
    await sdk.sandbox.pty.kill(handle.pid);
  });

  it("runs top full-screen, and 'q' quits it", async () => {
    const term = screen();
    const handle = await createPty(term);
    await setPrompt(handle, term);
    let mark = term.text.length;
    await sdk.sandbox.pty.sendInput(handle.pid, input("top -d 1\n"));
    // top's summary lines, drawn with cursor addressing on the pty.
    await term.until(/load average/, mark);
    await term.until(/Tasks:/, mark);
    mark = term.text.length;
    await sdk.sandbox.pty.sendInput(handle.pid, input("q"));
    // Type the next command only at the prompt: a full-screen program may flush typed-ahead input.
    await term.until(/READY> /, mark);
    await sdk.sandbox.pty.sendInput(handle.pid, input("echo top-exit=$?\n"));
    await term.until(/top-exit=0/, mark);
    await sdk.sandbox.pty.sendInput(handle.pid, input("exit\n"));
    await handle.wait();
  });

  it("edits and saves a file with vim", { skip: existsSync("/usr/bin/vim") ? false : "vim is not installed" }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "cove-pty-vim-"));
    try {
      const file = join(dir, "note.txt");
      const term = screen();
      const handle = await createPty(term);
      await setPrompt(handle, term);
      let mark = term.text.length;
      await sdk.sandbox.pty.sendInput(handle.pid, input(`vim -u NONE -N ${file}\n`));
      // vim switches to the alternate screen once it is ready for keys.
      await term.until(/\x1b\[\?1049h/, mark);
      mark = term.text.length;
      await sdk.sandbox.pty.sendInput(handle.pid, input("ihello from vim\x1b:wq\r"));
      await term.until(/READY> /, mark);
      await sdk.sandbox.pty.sendInput(handle.pid, input("echo vim-exit=$?\n"));
      await term.until(/vim-exit=0/, mark);
      assert.equal(await readFile(file, "utf8"), "hello from vim\n");
      await sdk.sandbox.pty.sendInput(handle.pid, input("exit\n"));
      await handle.wait();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
