import { isAbsolute, join, posix, resolve } from "node:path";
import { EnvdError } from "./errors.js";
import type { OsUser } from "./users.js";

/**
 * Resolves a path the way E2B's envd does: an empty path means the default
 * workdir (when one is set), `~` and `~/x` expand to the user's home, and any
 * other relative path resolves against the user's home, never the workdir
 * (so `hello.txt` as root is `/root/hello.txt`). The result is an absolute
 * path as seen inside the sandbox.
 */
export function resolveSandboxPath(path: string, user: OsUser, defaultWorkdir?: string): string {
  if (path.includes("\0")) throw new EnvdError("invalid_argument", "path contains a NUL byte");
  const p = path === "" ? (defaultWorkdir ?? "") : path;
  if (p === "~") return posix.normalize(user.home);
  if (p.startsWith("~/")) return posix.join(user.home, p.slice(2));
  if (isAbsolute(p)) return posix.normalize(p);
  return posix.resolve(user.home, p);
}

/**
 * Maps an absolute sandbox path to the host path that backs it. In a real
 * sandbox root is "/" and this is the identity; a development envd started
 * with --root serves a directory tree instead (not a security boundary).
 */
export function toHostPath(root: string, sandboxPath: string): string {
  if (root === "/") return sandboxPath;
  return join(resolve(root), sandboxPath);
}

/** Inverse of toHostPath for paths found by walking the host tree. */
export function toSandboxPath(root: string, hostPath: string): string {
  if (root === "/") return hostPath;
  const prefix = resolve(root);
  if (hostPath === prefix) return "/";
  return hostPath.startsWith(`${prefix}/`) ? hostPath.slice(prefix.length) : hostPath;
}
