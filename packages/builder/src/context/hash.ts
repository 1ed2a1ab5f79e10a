import { createHash, type Hash } from "node:crypto";
import { readlink } from "node:fs/promises";
import { BuilderError } from "../errors.js";
import type { ContextEntry } from "./match.js";
import { readContextFile } from "./read-file.js";

/**
 * The COPY step's `filesHash`, byte for byte what the e2b SDK computes (symlinks not resolved) for
 * the same source, destination and entries, so the server's upload cache serves both: SHA-256 over
 * `COPY <src> <dest>`, then per entry in order its relative path, decimal st_mode, decimal size,
 * and the link target (symlinks) or the contents (regular files). Owners and times are left out so
 * the hash is stable across machines.
 */
export async function computeFilesHash(src: string, dest: string, entries: readonly ContextEntry[]): Promise<string> {
  const hash = createHash("sha256");
  hash.update(`COPY ${src} ${dest}`);
  for (const entry of entries) {
    hash.update(entry.path);
    hash.update(entry.stats.mode.toString());
    hash.update(entry.stats.size.toString());
    if (entry.stats.isSymbolicLink()) {
      hash.update(await readEntry(entry, () => readlink(entry.absolutePath)));
    } else if (entry.stats.isFile()) {
      await readEntry(entry, () => hashFile(hash, entry.absolutePath));
    }
  }
  return hash.digest("hex");
}

async function hashFile(hash: Hash, path: string): Promise<void> {
  // Streamed: a context can hold files far larger than memory.
  for await (const chunk of await readContextFile(path)) hash.update(chunk as Buffer);
}

async function readEntry<T>(entry: ContextEntry, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new BuilderError("io_failed", `cannot read ${entry.path || "."} in the build context`, { cause: error });
  }
}
