import { readlink } from "node:fs/promises";
import { pipeline, Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { BuilderError } from "../errors.js";
import type { ContextEntry } from "./match.js";
import { readContextFile } from "./read-file.js";

const BLOCK = 512;
/** The largest value an octal field of `width` bytes holds (one byte goes to the terminator). */
const maxOctal = (width: number): number => 8 ** (width - 1) - 1;

export interface ContextTarOptions {
  /** Gzip the archive, as the SDK does by default. Default true. */
  gzip?: boolean;
}

/**
 * The archive a COPY step uploads, laid out as the SDK's: one entry per context entry in the given
 * order, paths relative to the context (`./` for the context itself, directories ending in `/`),
 * permission bits, owner ids and mtime from lstat, symlinks as symlinks. ustar headers, with a pax
 * header for what ustar cannot hold (long or non-ASCII names and link targets, files of 8 GiB and up).
 * Sockets, FIFOs and devices are left out. File contents are streamed, never held in memory; a file
 * that changes size while it is read fails the stream with `io_failed`.
 */
export function createContextTar(entries: readonly ContextEntry[], options: ContextTarOptions = {}): Readable {
  const tar = Readable.from(tarBlocks(entries));
  if (options.gzip === false) return tar;
  const gzip = createGzip();
  pipeline(tar, gzip, (error) => {
    if (error) gzip.destroy(error);
  });
  return gzip;
}

async function* tarBlocks(entries: readonly ContextEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    const { stats } = entry;
    const base = { mode: stats.mode & 0o7777, uid: stats.uid, gid: stats.gid, mtime: Math.floor(stats.mtimeMs / 1000) };
    if (stats.isDirectory()) {
      yield* header({ ...base, name: entry.path === "" ? "./" : `${entry.path}/`, type: "5", size: 0, linkname: "" });
    } else if (stats.isSymbolicLink()) {
      const target = await fail(entry, () => readlink(entry.absolutePath));
      yield* header({ ...base, name: entry.path, type: "2", size: 0, linkname: target });
    } else if (stats.isFile()) {
      yield* header({ ...base, name: entry.path, type: "0", size: stats.size, linkname: "" });
      yield* contents(entry);
    }
  }
  // Two zero blocks end the archive.
  yield Buffer.alloc(2 * BLOCK);
}

async function* contents(entry: ContextEntry): AsyncGenerator<Buffer> {
  let read = 0;
  const tooShort = () => new BuilderError("io_failed", `${entry.path} in the build context changed size while it was archived`);
  try {
    for await (const chunk of await readContextFile(entry.absolutePath)) {
      const buffer = chunk as Buffer;
      read += buffer.length;
      if (read > entry.stats.size) throw tooShort();
      yield buffer;
    }
  } catch (error) {
    if (error instanceof BuilderError) throw error;
    throw new BuilderError("io_failed", `cannot read ${entry.path} in the build context`, { cause: error });
  }
  if (read !== entry.stats.size) throw tooShort();
  const pad = (BLOCK - (read % BLOCK)) % BLOCK;
  if (pad > 0) yield Buffer.alloc(pad);
}

async function fail<T>(entry: ContextEntry, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    throw new BuilderError("io_failed", `cannot read ${entry.path} in the build context`, { cause: error });
  }
}

interface Header {
  name: string;
  type: "0" | "2" | "5";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
}

function* header(h: Header): Generator<Buffer> {
  const pax: Array<[string, string]> = [];
  if (!fitsField(h.name, 100)) pax.push(["path", h.name]);
  if (!fitsField(h.linkname, 100)) pax.push(["linkpath", h.linkname]);
  if (h.size > maxOctal(12)) pax.push(["size", String(h.size)]);
  if (h.uid > maxOctal(8)) pax.push(["uid", String(h.uid)]);
  if (h.gid > maxOctal(8)) pax.push(["gid", String(h.gid)]);
  if (pax.length > 0) {
    const body = Buffer.from(pax.map(([key, value]) => paxRecord(key, value)).join(""), "utf8");
    yield ustar({ ...h, name: truncate(`PaxHeader/${h.name}`, 100), type: "x", size: body.length, linkname: "", mode: 0o644 });
    yield body;
    const pad = (BLOCK - (body.length % BLOCK)) % BLOCK;
    if (pad > 0) yield Buffer.alloc(pad);
  }
  yield ustar({
    ...h,
    name: truncate(h.name, 100),
    linkname: truncate(h.linkname, 100),
    size: Math.min(h.size, maxOctal(12)),
    uid: Math.min(h.uid, maxOctal(8)),
    gid: Math.min(h.gid, maxOctal(8)),
  });
}

/** Whether ustar's field holds the text as is: ASCII (no locale guessing by readers) that fits. */
function fitsField(text: string, width: number): boolean {
  return text.length <= width && /^[\x20-\x7e]*$/.test(text);
}

function truncate(text: string, width: number): string {
  const bytes = Buffer.from(text, "utf8");
  return bytes.length <= width ? text : bytes.subarray(0, width).toString("latin1");
}

/** `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest, "utf8");
  let length = restBytes + 1;
  while (String(length).length + restBytes !== length) length = String(length).length + restBytes;
  return `${length}${rest}`;
}

function ustar(h: Omit<Header, "type"> & { type: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name, 0, 100, "latin1");
  octal(block, h.mode, 100, 8);
  octal(block, h.uid, 108, 8);
  octal(block, h.gid, 116, 8);
  octal(block, h.size, 124, 12);
  octal(block, h.mtime, 136, 12);
  block.write(h.type, 156, 1, "latin1");
  block.write(h.linkname, 157, 100, "latin1");
  block.write("ustar\u000000", 257, 8, "latin1");
  // The checksum is computed with its own field read as spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "latin1");
  return block;
}

function octal(block: Buffer, value: number, offset: number, width: number): void {
  block.write(
    `${Math.max(0, value)
      .toString(8)
      .padStart(width - 1, "0")}\u0000`,
    offset,
    width,
    "latin1",
  );
}
