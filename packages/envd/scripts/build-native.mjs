// Compiles every native/*.c helper into build/native/<name> as a static binary,
// so the helpers run in any root filesystem (glibc, musl or none at all).
// Skips a helper whose binary is newer than its source.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
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
