// The cove-spawn helper beyond runCommand's contract (run-command.test.ts runs that on both
// spawners): large output intact and before the exit, output to a file in its own session,
// a given environment, many commands at once, a restart after close, and an idle helper that
// keeps no process alive.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import { runCommand } from "../src/exec/run-command.js";
import { createHelperSpawner } from "@cove/protocol/spawner";
import { spawnHelperPath } from "./helpers/spawn-helper.js";

const node = process.execPath;
const run = promisify(execFile);

describe("cove-spawn", () => {
  const spawner = createHelperSpawner(spawnHelperPath);
  const dir = mkdtempSync("/tmp/cove-spawn-test-");
  after(() => {
    spawner.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("delivers 8 MiB of output intact, all of it before the exit", async () => {
    const script = "for (let i = 0; i < 8; i++) process.stdout.write(Buffer.alloc(1 << 20, 65 + i));";
    const { stdout } = await runCommand([node, "-e", script], { spawner });
    const expected = Array.from({ length: 8 }, (_, i) => String.fromCharCode(65 + i).repeat(1 << 20)).join("");
    assert.equal(stdout.length, expected.length);
    assert.equal(createHash("sha256").update(stdout).digest("hex"), createHash("sha256").update(expected).digest("hex"));
  });

  it("sends output to a file and starts the command in its own session", async () => {
    const file = join(dir, "out");
    writeFileSync(file, "");
    const command = spawner.start(["/bin/sh", "-c", "echo out; echo err >&2; ps -o sid= -p $$; echo $$"], { outputPath: file, setsid: true });
    assert.deepEqual(await command.exited, { code: 0, signal: null });
    const [out, err, sid, pid] = readFileSync(file, "utf8").trim().split("\n");
    assert.deepEqual([out, err], ["out", "err"]);
    assert.equal(sid?.trim(), pid, "the command leads its own session");
  });

  it("runs with exactly the environment given, PATH lookup included", async () => {
    const { stdout } = await runCommand(["env"], { spawner, env: { PATH: "/usr/bin:/bin", ONLY: "this" } });
    assert.deepEqual(stdout.trim().split("\n").sort(), ["ONLY=this", "PATH=/usr/bin:/bin"]);
  });

  it("runs 64 commands at once, each with its own input and output", async () => {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => runCommand(["/bin/cat"], { spawner, input: `input ${i}` })));
    assert.deepEqual(
      results.map((r) => r.stdout),
      Array.from({ length: 64 }, (_, i) => `input ${i}`),
    );
  });

  it("reports the pid of the command itself", async () => {
    const out: Buffer[] = [];
    const { pid, exited } = spawner.start(["/bin/sh", "-c", "echo $$"], { onOutput: (_, chunk) => out.push(chunk) });
    await exited;
    assert.equal(Buffer.concat(out).toString().trim(), String(await pid));
  });

  it("streams stdin in pieces larger than a frame, and closeStdin ends it", async () => {
    const chunks: Buffer[] = [];
    const command = spawner.start(["/usr/bin/sha256sum"], { streamStdin: true, onOutput: (_, chunk) => chunks.push(chunk) });
    const piece = Buffer.alloc(3 << 20, 7);
    command.writeStdin(piece);
    command.writeStdin(Buffer.from("tail"));
    command.closeStdin();
    command.writeStdin(Buffer.from("after close: dropped"));
    assert.deepEqual(await command.exited, { code: 0, signal: null });
    const expected = createHash("sha256").update(piece).update("tail").digest("hex");
    assert.equal(Buffer.concat(chunks).toString().split(" ")[0], expected);
  });

  it("a command without streamStdin reads end of file at once", async () => {
    const { stdout } = await runCommand(["/bin/sh", "-c", "cat; echo eof"], { spawner });
    assert.equal(stdout, "eof\n");
  });

  it("a start that fails rejects pid and exited with the errno", async () => {
    const command = spawner.start(["/nonexistent/binary"], {});
    await assert.rejects(command.pid, { name: "SpawnFailure", errno: "ENOENT" });
    await assert.rejects(command.exited, { name: "SpawnFailure", errno: "ENOENT" });
  });

  it("reports a signal that ended a command", async () => {
    const command = spawner.start(["/bin/sleep", "30"], {});
    command.kill("SIGKILL");
    assert.deepEqual(await command.exited, { code: null, signal: "SIGKILL" });
  });

  it("close lets a running command finish and report", async () => {
    const running = runCommand(["/bin/sh", "-c", "sleep 0.3; echo finished"], { spawner });
    spawner.close();
    assert.equal((await running).stdout, "finished\n");
  });

  it("starts again after close", async () => {
    spawner.close();
    assert.equal((await runCommand(["/bin/echo", "again"], { spawner })).stdout, "again\n");
  });

  it("an idle helper keeps nothing alive: a process that used it exits by itself", async () => {
    const script = `
      import { runCommand } from ${JSON.stringify(new URL("../src/exec/run-command.ts", import.meta.url).href)};
      import { createHelperSpawner } from ${JSON.stringify(new URL("../../protocol/src/spawner.ts", import.meta.url).href)};
      const spawner = createHelperSpawner(${JSON.stringify(spawnHelperPath)});
      console.log((await runCommand(["/bin/echo", "done"], { spawner })).stdout.trim());`;
    const { stdout } = await run(node, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 20_000 });
    assert.equal(stdout.trim(), "done");
  });

  it("a helper prepared ahead of any command keeps nothing alive (envd warms it up; CI once hung on one)", async () => {
    const script = `
      import { createHelperSpawner } from ${JSON.stringify(new URL("../../protocol/src/spawner.ts", import.meta.url).href)};
      const spawner = createHelperSpawner(${JSON.stringify(spawnHelperPath)});
      spawner.close();
      spawner.prepare();
      console.log("prepared");`;
    const { stdout } = await run(node, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 20_000 });
    assert.equal(stdout.trim(), "prepared");
  });
});
