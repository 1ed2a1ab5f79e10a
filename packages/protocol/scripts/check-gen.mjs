// Lints the protos and checks that src/gen is exactly what `npm run gen`
// produces from them, so generated code cannot drift from its source.
// Generates into a temporary directory; the working tree is left alone.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const buf = (args) => {
  const result = spawnSync("buf", args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

const files = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));

buf(["lint"]);
const out = mkdtempSync(join(tmpdir(), "cove-gen-"));
try {
  buf(["generate", "--output", out]);
  const fresh = join(out, "src/gen");
  const committed = join(root, "src/gen");
  const want = new Set(files(fresh));
  const have = new Set(files(committed));
  const drift = [...new Set([...want, ...have])].filter(
    (f) => !want.has(f) || !have.has(f) || !readFileSync(join(fresh, f)).equals(readFileSync(join(committed, f))),
  );
  if (drift.length > 0) {
    console.error(`check-gen: packages/protocol/src/gen differs from the protos (run \`npm run gen\`): ${drift.sort().join(", ")}`);
    process.exit(1);
  }
  console.log(`check-gen: protos lint clean; ${want.size} generated files match`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
