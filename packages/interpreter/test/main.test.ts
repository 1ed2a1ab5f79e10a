import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, before, after, describe, it } from "node:test";
import { PYTHON, requirePython } from "./helpers/interpreter.js";

const MAIN = join(import.meta.dirname, "../src/main.ts");

/** A zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The bundle the code-interpreter template carries (npm run build makes it). */
const BUNDLE = join(import.meta.dirname, "../build/runtime/server.js");

async function startServer(cwd: string, extra: string[] = [], entry = ["--import", "tsx", MAIN]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...entry, "--host", "127.0.0.1", "--port", "0", "--cwd", cwd, "--python", PYTHON, "--log-level", "silent", ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
    // Whatever the server leaves in its temp dir when it is killed goes with the test's directory.
    env: { ...process.env, TMPDIR: cwd },
  });
  let out = "";
  child.stdout?.setEncoding("utf8");
  while (!out.includes("\n")) {
    const [chunk] = (await once(child.stdout!, "data")) as [string];
    out += chunk;
  }
  const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
  assert.ok(match, out);
  return { child, url: `http://127.0.0.1:${match[1]}` };
}

/** The main result's text of one execution, through plain HTTP. */
async function run(url: string, body: object, token?: string): Promise<string> {
  const res = await fetch(`${url}/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { "x-access-token": token } : {}) },
    body: JSON.stringify(body),
  });
  const lines = (await res.text())
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { type: string; text?: string });
  return lines.find((l) => l.type === "result")?.text ?? "";
}

describe("main: the server as a process", () => {
  let child: ChildProcess | undefined;
  let cwd: string;
  before(() => {
    requirePython();
    cwd = mkdtempSync(join(tmpdir(), "cove-interp-main-"));
  });
  afterEach(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    child = undefined;
  });
  after(() => rmSync(cwd, { recursive: true, force: true }));

  it("starts from flags, serves, and kills its kernels on SIGTERM", async () => {
    const server = await startServer(cwd, ["--access-token", "tok"]);
    child = server.child;
    const parsed = /^\((\d+), '(.*)'\)$/.exec(await run(server.url, { code: "import os; os.getpid(), os.getcwd()" }, "tok"));
    assert.ok(parsed);
    assert.equal(parsed[2], cwd);
    const kernelPid = Number(parsed[1]);
    assert.ok(isAlive(kernelPid));

    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
    assert.equal(isAlive(kernelPid), false, "the kernel went with the server");
  });

  it("kernels end when the server is killed, even with user threads and timers left", async () => {
    const server = await startServer(cwd);
    child = server.child;
    const python = Number(await run(server.url, { code: "import os, threading, time\nthreading.Thread(target=lambda: time.sleep(600)).start()\nos.getpid()" }));
    const js = Number(await run(server.url, { code: "setInterval(() => {}, 1000); process.pid", language: "js" }));
    assert.ok(isAlive(python) && isAlive(js));
    child.kill("SIGKILL");
    await once(child, "exit");
    // A bounded wait for the kernels to notice the closed pipe (no timing asserted).
    for (let i = 0; i < 200 && (isAlive(python) || isAlive(js)); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    const left = [python, js].filter(isAlive);
    for (const pid of left) process.kill(pid, "SIGKILL");
    assert.deepEqual(left, [], "kernels left running (now killed)");
  });

  it("--warm starts the default python context before it listens", async () => {
    const server = await startServer(cwd, ["--warm", "python"]);
    child = server.child;
    const contexts = (await (await fetch(`${server.url}/contexts`)).json()) as Array<{ language: string }>;
    assert.deepEqual(
      contexts.map((c) => c.language),
      ["python"],
    );
  });

  it("the bundle (build/runtime/server.js) runs with its kernels beside it", async () => {
    const server = await startServer(cwd, [], [BUNDLE]);
    child = server.child;
    assert.equal(await run(server.url, { code: "21 * 2" }), "42");
    assert.equal(await run(server.url, { code: "const n: number = 5; n + 1", language: "ts" }), "6");
  });

  it("rejects an unknown flag with the usage text", async () => {
    const bad = spawn(process.execPath, ["--import", "tsx", MAIN, "--bogus"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    bad.stderr?.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
    const [code] = (await once(bad, "exit")) as [number | null];
    assert.equal(code, 1);
    assert.match(err, /usage: /);
  });
});
