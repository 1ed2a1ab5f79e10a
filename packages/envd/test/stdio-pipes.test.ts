// envd's stdout and stderr may be pipes a node reads. If the reader goes away
// (EPIPE), envd must drop its output and keep serving, never crash.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";

const entry = join(dirname(fileURLToPath(import.meta.url)), "helpers/run-envd.ts");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls /health until envd answers; fails if the process exits first. */
async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`envd exited (${child.exitCode ?? child.signalCode})`);
    const ok = await fetch(`${url}/health`).then(
      (res) => res.status === 204 || res.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error("envd never became healthy");
}

/**
 * Starts envd with both outputs as pipes, closes the read end of `closed`
 * (the others are drained), makes it log through stale /init calls, and
 * checks it still serves and exits 0 on SIGTERM.
 */
async function runWithClosedPipes(closed: ReadonlyArray<"stdout" | "stderr">, children: ChildProcess[]): Promise<void> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ["--import", "tsx", entry, String(port), "info"], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (const name of ["stdout", "stderr"] as const) {
    // Closing our read end at once makes every write envd makes there fail with EPIPE.
    if (closed.includes(name)) child[name]!.destroy();
    else child[name]!.resume();
  }
  await waitHealthy(url, child);

  // Each stale /init writes a log line to stderr.
  const init = (timestamp: string) =>
    fetch(`${url}/init`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ timestamp }) });
  assert.equal((await init("2030-01-01T00:00:00Z")).status, 204);
  for (let i = 0; i < 200; i++) assert.equal((await init("2020-01-01T00:00:00Z")).status, 204);
  assert.equal(child.exitCode, null, "envd is still running");
  assert.ok((await fetch(`${url}/health`)).ok);

  child.kill("SIGTERM");
  assert.equal(await exited, 0);
}

describe("envd with stdout and stderr as pipes whose reader is gone", () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  it("keeps serving when stdout and stderr are both closed, and exits cleanly on SIGTERM", async () => {
    await runWithClosedPipes(["stdout", "stderr"], children);
  });
});
