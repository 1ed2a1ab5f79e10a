import { chmod, chown, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { NodeError } from "../errors.js";

/** One host path the node keeps closed to other users, and the mode it must have. */
export interface HostModeEntry {
  path: string;
  kind: "dir" | "file";
  mode: number;
  /** Created with `mode` when missing (dirs only), so nothing later creates it with a looser default. */
  create: boolean;
}

export interface HostModePolicy {
  dataDir: string;
  templatesDir: string;
  /**
   * The OCI runtime walks the shared dirs by path from inside a sandbox's user namespace, as an
   * unprivileged uid (runc does; crun opens them before it enters): they are then 0711, which
   * lets that uid pass but still lists nothing to anyone.
   */
  searchableBySandboxes: boolean;
}

/**
 * The modes of the node's top-level host paths. Closed to other users because below them lie
 * files root inside a sandbox wrote (setuid binaries, device nodes), template trees with their
 * distribution's setuid binaries, and the node's secret. Only these top-level entries: each
 * sandbox's own dirs get their modes where they are made (storage, user namespace), and sandbox
 * contents are never walked.
 */
export function hostModeTable(policy: HostModePolicy): HostModeEntry[] {
  const d = policy.dataDir;
  const shared = policy.searchableBySandboxes ? 0o711 : 0o700;
  const dir = (path: string, mode: number): HostModeEntry => ({ path, kind: "dir", mode, create: true });
  return [
    dir(d, shared),
    dir(join(d, "sandboxes"), shared),
    dir(join(d, "storage"), shared),
    dir(join(d, "storage", "sandboxes"), shared),
    dir(join(d, "runtime"), shared),
    // lxcfs's pidfile, log and mount dir (mnt: the FUSE root, lxcfs's own modes).
    dir(join(d, "lxcfs"), shared),
    { path: join(d, "userns"), kind: "dir", mode: 0o700, create: false },
    dir(policy.templatesDir, 0o700),
    { path: join(d, "node-secret"), kind: "file", mode: 0o600, create: false },
  ];
}

/** A mode or owner the node changed at start. */
export interface HostModeFix {
  path: string;
  from: string;
  to: string;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

/**
 * Creates missing dirs of the table and puts modes (and, for anything not owned by the node's
 * user, the owner) back where they drifted, e.g. a data dir an older version or an operator's
 * `mkdir` left 0755. Returns what it changed, for the caller to log.
 */
export async function applyHostModes(entries: readonly HostModeEntry[]): Promise<HostModeFix[]> {
  const fixes: HostModeFix[] = [];
  const uid = process.getuid?.() ?? 0;
  for (const entry of entries) {
    let st = await stat(entry.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (!st) {
      if (!entry.create || entry.kind !== "dir") continue;
      await mkdir(entry.path, { recursive: true, mode: entry.mode });
      st = await stat(entry.path);
    }
    if (entry.kind === "dir" ? !st.isDirectory() : !st.isFile()) {
      throw new NodeError("unavailable", `${entry.path} should be a ${entry.kind === "dir" ? "directory" : "file"}`);
    }
    if (st.uid !== uid) {
      await chown(entry.path, uid, st.gid);
      fixes.push({ path: entry.path, from: `uid ${st.uid}`, to: `uid ${uid}` });
    }
    // mkdir's mode is filtered by the umask, so even a dir made above is checked here.
    if ((st.mode & 0o7777) !== entry.mode) {
      await chmod(entry.path, entry.mode);
      fixes.push({ path: entry.path, from: octal(st.mode), to: octal(entry.mode) });
    }
  }
  return fixes;
}
