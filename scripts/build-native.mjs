// Compiles every native/*.c helper of the package in the current directory into
// build/native/<name> as a static binary (so envd's helpers run in any root filesystem,
// and the node's do not depend on the host's libc version). Skips a helper whose
// binary is newer than its source. Run by a package's `build` script.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const pkg = process.cwd();
const out = join(pkg, "build/native");
mkdirSync(out, { recursive: true });
for (const file of readdirSync(join(pkg, "native"))) {
  if (!file.endsWith(".c")) continue;
  const src = join(pkg, "native", file);
  const bin = join(out, file.slice(0, -2));
  try {
    if (statSync(bin).mtimeMs >= statSync(src).mtimeMs) continue;
  } catch {}
  execFileSync("cc", ["-O2", "-static", "-Wall", "-Werror", "-o", bin, src], { stdio: "inherit" });
  console.error(`built ${bin}`);
}
