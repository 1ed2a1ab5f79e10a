import type { Stats } from "node:fs";
import { lstat, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { BuilderError } from "../errors.js";
import { hasExceptions, type IgnoreRules, isIgnored } from "./dockerignore.js";
import { cleanRelative, compilePattern, hasMagic } from "./pattern.js";

/** One file, directory or symlink of the build context that a COPY step sends. */
export interface ContextEntry {
  /** Relative to the context, `/`-separated; "" is the context directory itself. */
  path: string;
  absolutePath: string;
  /** From lstat: a symlink is described, never followed. */
  stats: Stats;
}

/**
 * The context entries a COPY source selects: what the pattern matches and, for a directory,
 * everything below it, minus what .dockerignore excludes. Ordered by absolute path, as the SDK
 * orders them for the files hash. Nothing outside the context is ever read: the source must be
 * relative and stay inside, and symlinks are listed as symlinks, not followed.
 */
export async function matchContextFiles(contextDir: string, src: string, ignore: IgnoreRules): Promise<ContextEntry[]> {
  const root = resolve(contextDir);
  const cleaned = cleanRelative(src);
  if (cleaned === undefined) throw new BuilderError("invalid_spec", `COPY source ${src} is outside the build context`);
  const segments = cleaned === "" ? [] : cleaned.split("/");
  const magicAt = segments.findIndex(hasMagic);
  const literal = magicAt < 0 ? segments : segments.slice(0, magicAt);
  if (!(await lstatOrUndefined(root))?.isDirectory()) throw new BuilderError("io_failed", `the build context ${contextDir} is not a directory`);
  const start = await lstatInside(root, literal);
  if (start === undefined) throw notFound(src);
  let entries: ContextEntry[];
  if (magicAt < 0) {
    const top = { path: cleaned, absolutePath: abs(root, cleaned), stats: start };
    const ignored = isIgnored(ignore, cleaned);
    const below = start.isDirectory() && (!ignored || hasExceptions(ignore)) ? await walk(root, cleaned, ignore) : [];
    entries = ignored ? below : [top, ...below];
  } else {
    const pattern = compilePattern(cleaned);
    const below = start.isDirectory() ? await walk(root, literal.join("/"), ignore) : [];
    const tops = below.filter((entry) => pattern.test(entry.path));
    const selectedDirs = new Set(tops.filter((entry) => entry.stats.isDirectory()).map((entry) => entry.path));
    const selected = new Set(tops.map((entry) => entry.path));
    entries = below.filter((entry) => selected.has(entry.path) || hasAncestorIn(entry.path, selectedDirs));
  }
  if (entries.length === 0) throw notFound(src);
  return entries.sort((a, b) => (a.absolutePath < b.absolutePath ? -1 : a.absolutePath > b.absolutePath ? 1 : 0));
}

/** Whether a directory above `path` is in `dirs`: checks its few ancestors, not every selected directory. */
function hasAncestorIn(path: string, dirs: ReadonlySet<string>): boolean {
  for (let slash = path.lastIndexOf("/"); slash > 0; slash = path.lastIndexOf("/", slash - 1)) {
    if (dirs.has(path.slice(0, slash))) return true;
  }
  return false;
}

function abs(root: string, path: string): string {
  return path === "" ? root : join(root, path);
}

function notFound(src: string): BuilderError {
  return new BuilderError("io_failed", `COPY source ${src} matches no files in the build context`);
}

/** lstat of a context path whose every parent is a real directory (not a symlink that could lead outside). */
async function lstatInside(root: string, segments: readonly string[]): Promise<Stats | undefined> {
  let stats = await lstatOrUndefined(root);
  for (let i = 0; i < segments.length; i++) {
    if (stats === undefined || !stats.isDirectory()) return undefined;
    stats = await lstatOrUndefined(join(root, ...segments.slice(0, i + 1)));
  }
  return stats;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw new BuilderError("io_failed", `cannot read ${path} in the build context`, { cause: error });
  }
}

/** Everything below a context directory that .dockerignore keeps, without following symlinks. */
async function walk(root: string, dir: string, ignore: IgnoreRules): Promise<ContextEntry[]> {
  const out: ContextEntry[] = [];
  // Below an excluded directory only an exception can bring files back; without one the walk skips it.
  const mustDescend = hasExceptions(ignore);
  const pending = [dir];
  for (let current = pending.pop(); current !== undefined; current = pending.pop()) {
    let names: string[];
    try {
      names = await readdir(abs(root, current));
    } catch (error) {
      throw new BuilderError("io_failed", `cannot list ${current || "."} in the build context`, { cause: error });
    }
    for (const name of names) {
      const path = current === "" ? name : `${current}/${name}`;
      const stats = await lstatOrUndefined(abs(root, path));
      if (stats === undefined) continue;
      const ignored = isIgnored(ignore, path);
      if (!ignored) out.push({ path, absolutePath: abs(root, path), stats });
      if (stats.isDirectory() && (!ignored || mustDescend)) pending.push(path);
    }
  }
  return out;
}
