import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { describe, it } from "node:test";

const cove = join(import.meta.dirname, "../bin/cove.js");

describe("cove envd", () => {
  it("prints one 'listening' line, serves /health, and exits 0 on SIGTERM", async (t) => {
    const child = spawn(process.execPath, [cove, "envd", "--port", "0", "--host", "127.0.0.1"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    t.after(() => {
      if (child.exitCode === null) child.kill("SIGKILL");
    });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (chunk: string) => {
        stdout += chunk;
        const nl = stdout.indexOf("\n");
        if (nl !== -1) resolve(stdout.slice(0, nl));
      });
      child.once("exit", (code) => reject(new Error(`cove envd exited early with ${code}`)));
    });
    assert.match(line, /listening/);
    const port = Number(/:(\d+)$/.exec(line)?.[1]);
    assert.ok(port > 0, `no port in '${line}'`);

    const health = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(health.status, 204);

    child.kill("SIGTERM");
    const [code] = (await once(child, "exit")) as [number | null];
    assert.equal(code, 0);
    assert.equal(stdout.trim().split("\n").length, 1, "stdout carries exactly one line");
  });

  it("fails with one clear line and a non-zero exit on a bad port", async () => {
    const child = spawn(process.execPath, [cove, "envd", "--port", "99999"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, "exit")) as [number | null];
    assert.notEqual(code, 0);
    assert.match(stderr, /^cove: invalid port '99999'/m);
  });
});
