import { execFileSync } from "node:child_process";
import { join } from "node:path";

const pkg = join(import.meta.dirname, "../..");

/** Builds native/cove-layer-fs.c if its binary is missing or stale, and returns its path. */
export function buildLayerFsHelper(): string {
  execFileSync(process.execPath, [join(pkg, "../../scripts/build-native.mjs"), "native"], { cwd: pkg, stdio: "inherit" });
  return join(pkg, "build/native/cove-layer-fs");
}

/** Reads an xattr without following symlinks (Node has no xattr API; python3 does). */
export function getXattr(path: string, name: string): string | undefined {
  const script =
    "import os,sys\ntry: sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode('latin1'))\nexcept OSError: sys.exit(3)";
  try {
    return execFileSync("python3", ["-c", script, path, name], { encoding: "latin1" });
  } catch {
    return undefined;
  }
}
