// `cove up` and its node child (decision 0009) when one of them dies by SIGKILL.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Sandbox } from "e2b";
import { killLeftovers, startCoveUp, type CoveUp } from "./helpers/cove-up.js";
import { suiteNetwork } from "../../test/support/networks.js";
import { removeDataDir } from "../support/data-dirs.js";

const network = suiteNetwork("e2e/up-supervision");

/** cove up's children: exactly its node (it has no other). */
function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
}

/** Gone, or a zombie nobody reaped yet: either way it has exited. */
function exited(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

/** Sandbox ids on the node with a record in the given state. */
function sandboxesIn(dataDir: string, state?: string): string[] {
  const dir = `${dataDir}/sandboxes`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((id) => !id.startsWith("."))
    .filter((id) => {
      if (state === undefined) return true;
      try {
        return (JSON.parse(readFileSync(`${dir}/${id}/sandbox.json`, "utf8")) as { state?: string }).state === state;
      } catch {
        return false;
      }
    });
}

async function waitFor<T>(what: string, probe: () => T | undefined, tries = 600, everyMs = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("cove up supervision", () => {
  let dataDir: string;
  let up: CoveUp | undefined;

  beforeEach(async () => {
    dataDir = mkdtempSync("/tmp/cove-sup-");
    up = await startCoveUp({ dataDir, ...network });
  });
  afterEach(async () => {
    await up?.stop();
    await killLeftovers({ dataDir, ...network });
    await removeDataDir(dataDir);
  });

  it("a SIGKILLed cove up: its node still stops in order (the warm pool's sandbox is discarded), without crashing on its lost stdout", async () => {
    const proc = up!.proc;
    const [nodePid] = children(proc.pid!);
    assert.ok(nodePid !== undefined, "cove up has its node child");
    // The warm pool's sandbox (pool size 1): only an orderly stop discards it.
    const pooled = await waitFor("the warm pool's sandbox", () => {
      const ids = sandboxesIn(dataDir, "running");
      return ids.length > 0 ? ids : undefined;
    });
    assert.equal(pooled.length, 1);

    proc.kill("SIGKILL");
    await waitFor("the node to exit after losing cove up", () => (exited(nodePid) ? true : undefined));
    // The node's stderr is cove up's, which this test still reads: a crash would show here.
    assert.doesNotMatch(up!.stderr(), /EPIPE|Unhandled 'error' event|uncaught/i, up!.stderr());
    assert.deepEqual(sandboxesIn(dataDir), [], "the orderly stop discarded the pool's sandbox");
    up = undefined;
  });

  it("API calls waiting since a node crash are served by whichever node comes up, after a second crash", async () => {
    const proc = up!.proc;
    const opts = { apiKey: up!.apiKey, apiUrl: up!.url, sandboxUrl: up!.url, requestTimeoutMs: 90_000 };
    const readyLines = () => (up!.stderr().match(/cove node: ready/g) ?? []).length;
    const [first] = children(proc.pid!);
    assert.ok(first !== undefined);
    const readyBefore = readyLines();

    process.kill(first, "SIGKILL");
    // Waits in the api for the node (no node is up now).
    const created = Sandbox.create(opts).then(
      (s) => ({ ok: true as const, sandbox: s }),
      (err: unknown) => ({ ok: false as const, err }),
    );
    const second = await waitFor(
      "the replacement node",
      () => {
        const now = children(proc.pid!);
        return now.length === 1 && now[0] !== first ? now[0] : undefined;
      },
      300,
      20,
    );
    await sleep(300);
    // The replacement must still be starting for this to be the case under test.
    assert.equal(readyLines(), readyBefore, "the replacement node was not ready yet when it was killed");
    process.kill(second, "SIGKILL");

    const result = await created;
    assert.ok(result.ok, `the create that waited since the first crash failed: ${result.ok ? "" : String(result.err)}`);
    assert.equal((await result.sandbox.commands.run("echo served")).stdout, "served\n");
    assert.equal(await result.sandbox.kill(), true);
  });
});
