import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { openDataDirForRunc } from "../src/userns/index.js";

describe("data dir paths runc walks as a sandbox's root", () => {
  it("opens the shared dirs for search only, and refuses a data dir below a closed directory", async () => {
    const top = mkdtempSync("/var/tmp/cove-runc-paths-");
    try {
      chmodSync(top, 0o711);
      const data = join(top, "data");
      await openDataDirForRunc(data);
      for (const dir of [data, join(data, "sandboxes"), join(data, "storage", "sandboxes"), join(data, "runtime")]) {
        assert.equal(statSync(dir).mode & 0o777, 0o711, dir);
      }
      const closed = join(top, "home");
      mkdirSync(closed, { mode: 0o700 });
      chmodSync(closed, 0o700);
      await assert.rejects(openDataDirForRunc(join(closed, "data")), (e: unknown) => e instanceof NodeError && e.code === "unavailable" && e.message.includes(closed));
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});
