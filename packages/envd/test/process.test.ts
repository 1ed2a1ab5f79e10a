import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CommandExitError, TimeoutError, type CommandHandle } from "e2b";
import { connectSdk, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";
import { isAlive, waitGone } from "../../../test/support/processes.js";

/** Resolves once `predicate` holds for the text collected so far (the test's own timeout bounds it). */
function collector(): { text: () => string; push: (chunk: string) => void; until: (predicate: (text: string) => boolean) => Promise<void> } {
  let text = "";
  const waiters: Array<{ predicate: (text: string) => boolean; resolve: () => void }> = [];
  return {
    text: () => text,
    push(chunk) {
      text += chunk;
      for (const waiter of [...waiters]) {
        if (waiter.predicate(text)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    },
    until(predicate) {
      if (predicate(text)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
  };
}

describe("process service through the SDK", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  const handles: CommandHandle[] = [];
  before(async () => {
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    for (const handle of handles) await handle.kill().catch(() => false);
    await sdk?.close();
    await envd?.close();
  });

  it("runs a command in the foreground with stdout, stderr and exit code 0", async () => {
    const result = await sdk.sandbox.commands.run("echo hello; echo oops >&2");
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, "hello\n");
    assert.equal(result.stderr, "oops\n");
    assert.equal(result.error, undefined);
  });

  it("throws CommandExitError with the exit status for a failing command", async () => {
    await assert.rejects(sdk.sandbox.commands.run("echo partial; exit 3"), (err: unknown) => {
      assert.ok(err instanceof CommandExitError);
      assert.equal(err.exitCode, 3);
      assert.equal(err.error, "exit status 3");
      assert.equal(err.stdout, "partial\n");
      return true;
    });
  });

  it("reports a process killed by a signal as 'signal: killed' with exit code -1", async () => {
    await assert.rejects(sdk.sandbox.commands.run("kill -9 $$"), (err: unknown) => {
      assert.ok(err instanceof CommandExitError);
      assert.equal(err.exitCode, -1);
      assert.equal(err.error, "signal: killed");
      return true;
    });
  });

  it("runs in the background and wait() returns the result", async () => {
    const handle = await sdk.sandbox.commands.run("echo bg-done", { background: true });
    handles.push(handle);
    assert.ok(handle.pid > 0);
    const result = await handle.wait();
    assert.equal(result.stdout, "bg-done\n");
    assert.equal(result.exitCode, 0);
  });

  it("streams output to callbacks while the process still runs", async () => {
    const out = collector();
    const err = collector();
    const handle = await sdk.sandbox.commands.run("echo first; echo first-err >&2; read line; echo second-$line", {
      background: true,
      stdin: true,
      onStdout: (data) => out.push(data),
      onStderr: (data) => err.push(data),
    });
    handles.push(handle);
    // Both lines arrive while the process is blocked in `read`, so output is streamed, not buffered to the end.
    await out.until((text) => text.includes("first\n"));
    await err.until((text) => text.includes("first-err\n"));
    assert.equal(handle.exitCode, undefined);
    await sdk.sandbox.commands.sendStdin(handle.pid, "go\n");
    const result = await handle.wait();
    assert.equal(out.text(), "first\nsecond-go\n");
    assert.equal(err.text(), "first-err\n");
    assert.equal(result.stdout, "first\nsecond-go\n");
  });

  it("feeds stdin with sendStdin and closeStdin ends cat", async () => {
    const handle = await sdk.sandbox.commands.run("cat", { background: true, stdin: true });
    handles.push(handle);
    await sdk.sandbox.commands.sendStdin(handle.pid, "line one\n");
    await sdk.sandbox.commands.sendStdin(handle.pid, "line two\n");
    await sdk.sandbox.commands.closeStdin(handle.pid);
    const result = await handle.wait();
    assert.equal(result.stdout, "line one\nline two\n");
    assert.equal(result.exitCode, 0);
  });

  it("gives a process without stdin /dev/null", async () => {
    const result = await sdk.sandbox.commands.run("cat; echo after-cat");
    assert.equal(result.stdout, "after-cat\n");
  });

  it("kills a command (true), and kill of an unknown pid is false", async () => {
    const handle = await sdk.sandbox.commands.run("sleep 30", { background: true });
    handles.push(handle);
    assert.equal(await sdk.sandbox.commands.kill(handle.pid), true);
    await assert.rejects(handle.wait(), (err: unknown) => {
      assert.ok(err instanceof CommandExitError);
      assert.equal(err.error, "signal: killed");
      return true;
    });
    assert.equal(await waitGone(handle.pid, 5_000), true);
    assert.equal(await sdk.sandbox.commands.kill(handle.pid), false);
  });

  it("kills the whole process group, children included", async () => {
    const out = collector();
    const handle = await sdk.sandbox.commands.run("sleep 30 & echo child=$!; wait", {
      background: true,
      onStdout: (data) => out.push(data),
    });
    handles.push(handle);
    await out.until((text) => /child=\d+\n/.test(text));
    const child = Number(/child=(\d+)/.exec(out.text())![1]);
    assert.equal(isAlive(child), true);
    await sdk.sandbox.commands.kill(handle.pid);
    await handle.wait().catch(() => undefined);
    assert.equal(await waitGone(child, 5_000), true);
  });

  it("lists running commands with their config and tag-less pid", async () => {
    const handle = await sdk.sandbox.commands.run("sleep 30", { background: true, envs: { LISTED: "yes" }, cwd: "/tmp" });
    handles.push(handle);
    const listed = await sdk.sandbox.commands.list();
    const mine = listed.find((p) => p.pid === handle.pid);
    assert.ok(mine, "the started process is listed");
    assert.equal(mine.cmd, "/bin/bash");
    assert.deepEqual(mine.args, ["-l", "-c", "sleep 30"]);
    assert.equal(mine.envs.LISTED, "yes");
    assert.equal(mine.cwd, "/tmp");
    await handle.kill();
    await handle.wait().catch(() => undefined);
    assert.equal(
      (await sdk.sandbox.commands.list()).some((p) => p.pid === handle.pid),
      false,
    );
  });

  it("keeps a process running after its client disconnects, and connect() attaches to its later output", async () => {
    const handle = await sdk.sandbox.commands.run("read line; echo got-$line", { background: true, stdin: true });
    handles.push(handle);
    await handle.disconnect();
    assert.ok((await sdk.sandbox.commands.list()).some((p) => p.pid === handle.pid));
    const out = collector();
    const attached = await sdk.sandbox.commands.connect(handle.pid, { onStdout: (data) => out.push(data) });
    handles.push(attached);
    assert.equal(attached.pid, handle.pid);
    await sdk.sandbox.commands.sendStdin(handle.pid, "later\n");
    const result = await attached.wait();
    assert.equal(result.stdout, "got-later\n");
    assert.equal(out.text(), "got-later\n");
  });

  it("connect() to an unknown pid fails with not found", async () => {
    await assert.rejects(sdk.sandbox.commands.connect(999_999_9), /not found/);
  });

  it("applies envs and cwd, ~ expands to home, and the login env is set", async () => {
    const result = await sdk.sandbox.commands.run('echo "$FOO|$PWD|$HOME|$USER"', { envs: { FOO: "bar" }, cwd: "/tmp" });
    assert.equal(result.stdout, "bar|/tmp|/root|root\n");
    const home = await sdk.sandbox.commands.run("pwd", { cwd: "~" });
    assert.equal(home.stdout, "/root\n");
  });

  it("rejects a cwd that does not exist", async () => {
    await assert.rejects(sdk.sandbox.commands.run("pwd", { cwd: "/no/such/dir" }), /cwd '\/no\/such\/dir' does not exist/);
  });

  it("kills the process when timeoutMs passes and throws TimeoutError", async () => {
    const handle = await sdk.sandbox.commands.run("sleep 30", { background: true, timeoutMs: 1_000 });
    handles.push(handle);
    assert.equal(isAlive(handle.pid), true);
    await assert.rejects(handle.wait(), TimeoutError);
    assert.equal(await waitGone(handle.pid, 5_000), true, "the timed-out process is gone");
  });
});
