import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const cove = join(import.meta.dirname, "../bin/cove.js");
// Shared with packages/node's template test: the first run on a machine builds, later ones reuse.
const dataDir = process.env.COVE_TEST_DATA_DIR ?? "/var/tmp/cove-test";
const isRoot = process.getuid?.() === 0;

async function runCove(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [cove, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c));
  child.stderr.on("data", (c: Buffer) => (stderr += c));
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}

describe("cove template build", () => {
  it("builds or reuses base, then reuses it on the next call", { skip: isRoot ? false : "needs root", timeout: 900_000 }, async () => {
    const first = await runCove(["template", "build", "base", "--data-dir", dataDir]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^template base: (built|reused)/m);
    const second = await runCove(["template", "build", "base", "--data-dir", dataDir]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^template base: reused the build from /m);
  });

  it("refuses an unknown template with one clear line", async () => {
    const result = await runCove(["template", "build", "nope", "--data-dir", dataDir]);
    assert.notEqual(result.code, 0);
    assert.equal(result.stderr.trim(), "cove: unknown template 'nope': build base or code-interpreter, or a Dockerfile with --name <name> [dir]");
  });

  it("builds or reuses code-interpreter-v1 (on base), then reuses it", { skip: isRoot ? false : "needs root", timeout: 900_000 }, async () => {
    const first = await runCove(["template", "build", "code-interpreter", "--data-dir", dataDir]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^template code-interpreter-v1: (built|reused)/m);
    const second = await runCove(["template", "build", "code-interpreter-v1", "--data-dir", dataDir]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /^template code-interpreter-v1: reused the build from /m);
  });

  it("cove up --prebuild names only built-in templates, refused before anything is built", { skip: isRoot ? false : "needs root" }, async () => {
    const dir = "/var/tmp/cove-prebuild-test-never-made";
    const result = await runCove(["up", "--prebuild", "nope", "--port", "0", "--data-dir", dir]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /--prebuild nope: only base and code-interpreter are built by cove/);
    assert.equal(existsSync(dir), false, "nothing made");
  });
});
