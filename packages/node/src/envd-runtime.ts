import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, chown, copyFile, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NodeError } from "./errors.js";

/**
 * Pins the envd runtime the node mounts (read-only) at /.cove in every sandbox: a private copy
 * under `<dataDir>/runtime/envd-<hash>/`, named by the hash of everything in it. A copy, never
 * hard links: a link shares its inode with the build tree, so one write through any path to it
 * would change every sandbox's envd and the build itself. Files and dirs are root-owned and
 * read-only (0444/0555), so even root on the host has to mean it to change one. A rebuild of the
 * source (`npm run build` replaces it) then neither breaks new creates nor changes what running
 * sandboxes see. Copies of older builds are removed once no sandbox directory names them.
 */
export async function pinEnvdRuntime(sourceDir: string, dataDir: string, inUse: (dir: string) => Promise<boolean>): Promise<string> {
  const root = join(dataDir, "runtime");
  await mkdir(root, { recursive: true, mode: 0o700 });
  // A build replacing the source while we read it (ENOENT, or a copy that no longer matches its
  // hash) is retried a few times before it fails the start.
  let target: string | undefined;
  for (let attempt = 1; !target; attempt++) {
    try {
      target = await pinOnce(sourceDir, root);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt >= 5 || !(code === "ENOENT" || err instanceof SourceChanged)) throw err;
      await sleep(200 * attempt);
    }
  }
  for (const name of await readdir(root)) {
    const dir = join(root, name);
    if (dir !== target && !(await inUse(dir))) await removeTree(dir);
  }
  return target;
}

class SourceChanged extends NodeError {
  constructor(sourceDir: string) {
    super("unavailable", `the envd runtime at ${sourceDir} changed while it was being copied`);
  }
}

async function pinOnce(sourceDir: string, root: string): Promise<string> {
  const hash = await hashTree(sourceDir);
  const target = join(root, `envd-${hash.slice(0, 16)}`);
  // Complete or absent: the copy is made under another name, checked, and renamed into place.
  if (await exists(target)) return target;
  const scratch = `${target}.tmp-${process.pid}`;
  await removeTree(scratch);
  try {
    await copyTree(sourceDir, scratch);
    if ((await hashTree(scratch)) !== hash) throw new SourceChanged(sourceDir);
    await chmod(scratch, 0o555);
    await rename(scratch, target);
  } finally {
    await removeTree(scratch);
  }
  return target;
}

/**
 * sha256 over every entry, in sorted order: relative path, type, the executable bit, and the
 * content (or a symlink's target). Any change to any file gives another directory.
 */
export async function hashTree(dir: string): Promise<string> {
  const hash = createHash("sha256");
  await hashInto(hash, dir, "");
  return hash.digest("hex");
}

async function hashInto(hash: Hash, dir: string, rel: string): Promise<void> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    const name = rel === "" ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      hash.update(`d\0${name}\0`);
      await hashInto(hash, path, name);
    } else if (entry.isSymbolicLink()) {
      hash.update(`l\0${name}\0${await readlink(path)}\0`);
    } else if (entry.isFile()) {
      const { mode, size } = await stat(path);
      hash.update(`f\0${name}\0${mode & 0o111 ? "x" : "-"}\0${size}\0`);
      for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    } else {
      throw new NodeError("unavailable", `the envd runtime holds ${path}, which is neither a file, a directory nor a symlink`);
    }
  }
}

/** Copies file contents (new inodes), owned by root, files 0444 or 0555, dirs 0555 once filled. */
async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { mode: 0o700 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) {
      await copyTree(src, dst);
      await chmod(dst, 0o555);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(src), dst);
    } else if (entry.isFile()) {
      await copyFile(src, dst);
      await chown(dst, 0, 0);
      await chmod(dst, (await stat(src)).mode & 0o111 ? 0o555 : 0o444);
    }
  }
  await chown(to, 0, 0);
}

/** rm -r; the read-only dirs do not stop root, which the node is. */
async function removeTree(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}
