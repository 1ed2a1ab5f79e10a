import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PYTHON, requirePython } from "./helpers/interpreter.js";

const MAIN = join(import.meta.dirname, "../src/main.ts");

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("main: the server as a process", () => {
  let child: ChildProcess | undefined;
  let cwd: string;
  before(() => {
    requirePython();
    cwd = mkdtempSync(join(tmpdir(), "cove-interp-main-"));
  });
  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it("starts from flags, serves, and kills its kernels on SIGTERM", async () => {
    child = spawn(
      process.execPath,
      ["--import", "tsx", MAIN, "--host", "127.0.0.1", "--port", "0", "--cwd", cwd, "--python", PYTHON, "--access-token", "tok", "--log-level", "silent"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout?.setEncoding("utf8");
    while (!out.includes("\n")) {
      const [chunk] = (await once(child.stdout!, "data")) as [string];
      out += chunk;
    }
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
    assert.ok(match, out);
    const url = `http://127.0.0.1:${match[1]}`;
    const res = await fetch(`${url}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-access-token": "tok" },
      body: JSON.stringify({ code: "import os; os.getpid(), os.getcwd()" }),
    });
    const lines = (await res.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { type: string; text?: string });
    const text = lines.find((l) => l.type === "result")?.text ?? "";
    const parsed = /^\((\d+), '(.*)'\)$/.exec(text);
    assert.ok(parsed, text);
    assert.equal(parsed[2], cwd);
    const kernelPid = Number(parsed[1]);
    assert.ok(isAlive(kernelPid));

    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
    assert.equal(isAlive(kernelPid), false, "the kernel went with the server");
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
