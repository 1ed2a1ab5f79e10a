// runOciDetached (crun create / run --detach): output to the sandbox's FIFO, its own session,
// and the same timeout as every host command: SIGTERM, then SIGKILL for a runtime that ignores
// it. A plain file stands in for the FIFO (the spawner opens the path for writing either way).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { childProcessSpawner, createHelperSpawner, type Spawner } from "@cove/protocol/spawner";
import { OciCommandError, runOciDetached, type DetachedOutput } from "../src/runtime/container/oci-command.js";
import { spawnHelperPath } from "./helpers/spawn-helper.js";

/** A DetachedOutput over a regular file: `textSince` reads what was written after `mark`. */
function fileOutput(path: string): DetachedOutput {
  writeFileSync(path, "");
  return {
    fifo: path,
    mark: () => readFileSync(path).length,
    drain: () => {},
    textSince: (mark) => readFileSync(path).subarray(mark).toString("utf8"),
  };
}

for (const [name, spawner] of [
  ["child_process", childProcessSpawner],
  ["cove-spawn", createHelperSpawner(spawnHelperPath)],
] as Array<[string, Spawner]>) {
  describe(`runOciDetached through ${name}`, () => {
    const dir = mkdtempSync("/tmp/cove-oci-detached-");
    after(() => {
      spawner.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("sends output to the FIFO, not to the caller, and resolves on exit 0", async () => {
      const out = fileOutput(join(dir, "ok"));
      await runOciDetached(["/bin/sh", "-c", "echo to-fifo; echo err >&2"], out, 10_000, spawner);
      assert.equal(out.textSince(0), "to-fifo\nerr\n");
    });

    it("fails with what the runtime wrote since the mark and its exit code", async () => {
      const out = fileOutput(join(dir, "fail"));
      await assert.rejects(runOciDetached(["/bin/sh", "-c", "echo 'crun: no such file' >&2; exit 3"], out, 10_000, spawner), (err: unknown) => {
        assert.ok(err instanceof OciCommandError);
        assert.equal(err.code, "runtime_failed");
        assert.equal(err.exitCode, 3);
        assert.equal(err.output, "crun: no such file");
        return true;
      });
    });

    it("kills a runtime that ignores SIGTERM after the timeout and says it timed out", async () => {
      const out = fileOutput(join(dir, "hang"));
      const started = Date.now();
      await assert.rejects(runOciDetached(["/bin/sh", "-c", "trap '' TERM; echo waiting; while :; do sleep 0.1; done"], out, 300, spawner), (err: unknown) => {
        assert.ok(err instanceof OciCommandError);
        assert.match(err.output, /^waiting\ntimed out after 300 ms$/);
        return true;
      });
      assert.ok(Date.now() - started < 30_000);
    });

    it("says a runtime that is not installed cannot run", async () => {
      const out = fileOutput(join(dir, "missing"));
      await assert.rejects(runOciDetached(["/nonexistent/crun", "create"], out, 10_000, spawner), {
        code: "runtime_failed",
        message: /cannot run \/nonexistent\/crun: ENOENT/,
      });
    });
  });
}
