import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { checkDataDirReachableByRunc } from "../src/userns/index.js";

describe("data dir paths runc walks as a sandbox's root", () => {
  it("accepts a data dir below searchable directories and refuses one below a closed directory", async () => {
    const top = mkdtempSync("/var/tmp/cove-runc-paths-");
    try {
      chmodSync(top, 0o711);
      await checkDataDirReachableByRunc(join(top, "data"));
      const closed = join(top, "home");
      mkdirSync(closed, { mode: 0o700 });
      chmodSync(closed, 0o700);
      await assert.rejects(
        checkDataDirReachableByRunc(join(closed, "data")),
        (e: unknown) => e instanceof NodeError && e.code === "unavailable" && e.message.includes(closed),
      );
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});
