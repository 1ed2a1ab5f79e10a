// Compiles every *.c helper in the given source directories (default: native/) of the
// package in the current directory into build/native/<name> as a static binary (so envd's
// helpers run in any root filesystem, and the node's do not depend on the host's libc
// version). Skips a helper whose binary is newer than its source. Run by a package's `build`
// script; a helper shared by two packages lives in packages/protocol/native and each of them
// builds its own copy.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";

const pkg = process.cwd();
const out = join(pkg, "build/native");
mkdirSync(out, { recursive: true });
const dirs = process.argv.length > 2 ? process.argv.slice(2) : ["native"];
for (const file of dirs.flatMap((dir) => readdirSync(join(pkg, dir)).map((name) => join(dir, name)))) {
  if (!file.endsWith(".c")) continue;
  const src = join(pkg, file);
  const bin = join(out, basename(file, ".c"));
  try {
    if (statSync(bin).mtimeMs >= statSync(src).mtimeMs) continue;
  } catch {}
  execFileSync("cc", ["-O2", "-static", "-Wall", "-Werror", "-o", bin, src], { stdio: "inherit" });
  console.error(`built ${bin}`);
}
