import { BuilderError } from "../errors.js";

export type TarEntryType = "file" | "hardlink" | "symlink" | "chardev" | "blockdev" | "directory" | "fifo";

export interface TarEntry {
  /** As written in the archive (pax `path`, GNU long name or ustar prefix/name); not yet sanitized. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, fractional when a pax header says so. */
  mtime: number;
  /** Target of a symlink or hard link. */
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax `SCHILY.xattr.*` records, values as raw bytes. */
  xattrs: Map<string, Buffer>;
}

const BLOCK = 512;
const typeFlags: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "chardev",
  "4": "blockdev",
  "5": "directory",
  "6": "fifo",
};

function bad(why: string): BuilderError {
  return new BuilderError("invalid_image", `malformed layer tar: ${why}`);
}

/** Pulls exact byte counts out of a chunked stream, keeping what is left over for the next read. */
class ByteSource {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        const b = Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength);
        this.chunks.push(b);
        this.buffered += b.length;
      }
    }
    return this.buffered >= n;
  }

  /** Exactly n bytes, or null at a clean end of stream (nothing buffered). */
  async read(n: number): Promise<Buffer | null> {
    if (!(await this.fill(n))) {
      if (this.buffered === 0) return null;
      throw bad("archive ends in the middle of a block");
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Up to `max` bytes (at least one), for streaming a body without copying it whole. */
  async readSome(max: number): Promise<Buffer> {
    if (!(await this.fill(1))) throw bad("archive ends in the middle of a file");
    const first = this.chunks[0]!;
    if (first.length <= max) {
      this.chunks.shift();
      this.buffered -= first.length;
      return first;
    }
    this.chunks[0] = first.subarray(max);
    this.buffered -= max;
    return first.subarray(0, max);
  }

  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.readSome(left)).length;
  }
}

function cstring(block: Buffer, offset: number, length: number): string {
  const field = block.subarray(offset, offset + length);
  const end = field.indexOf(0);
  return field.subarray(0, end >= 0 ? end : length).toString("utf8");
}

/** Octal, or GNU base-256 (high bit of the first byte set) for values that do not fit. */
function numeric(block: Buffer, offset: number, length: number, what: string): number {
  const field = block.subarray(offset, offset + length);
  if ((field[0]! & 0x80) !== 0) {
    if ((field[0]! & 0x40) !== 0) throw bad(`negative ${what}`);
    let value = field[0]! & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    if (!Number.isSafeInteger(value)) throw bad(`${what} too large`);
    return value;
  }
  const text = field
    .toString("latin1")
    .replace(/[\0 ]+$/, "")
    .replace(/^[ ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw bad(`${what} is not octal: ${JSON.stringify(text)}`);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** Pax extended header records: `<len> <key>=<value>\n`, length counting the whole record. */
function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < data.length) {
    const space = data.indexOf(0x20, i);
    if (space < 0) break;
    const len = Number.parseInt(data.subarray(i, space).toString("latin1"), 10);
    if (!Number.isSafeInteger(len) || len <= space - i || i + len > data.length) throw bad("corrupt pax header");
    const record = data.subarray(space + 1, i + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw bad("corrupt pax record");
    out.set(record.subarray(0, eq).toString("utf8"), record.subarray(eq + 1));
    i += len;
  }
  return out;
}

const maxMetaSize = 1 << 20;
const xattrPrefix = "SCHILY.xattr.";

/**
 * Reads a tar stream entry by entry (ustar, pax `x`/`g` headers, GNU `L`/`K` long names).
 * Each entry's body must be read through `body()` or is skipped when the next entry is asked
 * for; only one entry is open at a time, so memory stays at one chunk.
 */
export async function* readTar(stream: AsyncIterable<Uint8Array>): AsyncGenerator<{ entry: TarEntry; body: () => AsyncGenerator<Buffer> }> {
  const src = new ByteSource(stream[Symbol.asyncIterator]());
  const global = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const block = await src.read(BLOCK);
    if (block === null) return;
    if (block.every((b) => b === 0)) return;
    if (!checksumOk(block)) throw bad("header checksum mismatch");
    const flag = String.fromCharCode(block[156]!);
    const size = numeric(block, 124, 12, "size");
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
      if (size > maxMetaSize) throw bad(`${flag} header of ${size} bytes`);
      const data = size > 0 ? await src.read(padded) : Buffer.alloc(0);
      if (data === null) throw bad("archive ends inside a header");
      const content = data.subarray(0, size);
      if (flag === "x") pax = parsePax(content);
      else if (flag === "g") for (const [k, v] of parsePax(content)) global.set(k, v);
      else {
        const text = content.toString("utf8").replace(/\0+$/, "");
        if (flag === "L") longName = text;
        else longLink = text;
      }
      continue;
    }
    const type = typeFlags[flag];
    const magic = block.subarray(257, 263).toString("latin1");
    const ustar = magic === "ustar\0" || magic === "ustar ";
    const prefix = magic === "ustar\0" ? cstring(block, 345, 155) : "";
    const meta = (key: string) => (pax.get(key) ?? global.get(key))?.toString("utf8");
    const num = (key: string, fallback: number) => {
      const v = meta(key);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw bad(`pax ${key}=${v}`);
      return n;
    };
    const name = cstring(block, 0, 100);
    const entry: TarEntry = {
      path: meta("path") ?? longName ?? (prefix ? `${prefix}/${name}` : name),
      type: type ?? "file",
      mode: numeric(block, 100, 8, "mode") & 0o7777,
      uid: num("uid", numeric(block, 108, 8, "uid")),
      gid: num("gid", numeric(block, 116, 8, "gid")),
      size: num("size", size),
      mtime: num("mtime", numeric(block, 136, 12, "mtime")),
      linkpath: meta("linkpath") ?? longLink ?? cstring(block, 157, 100),
      devmajor: ustar ? numeric(block, 329, 8, "devmajor") : 0,
      devminor: ustar ? numeric(block, 337, 8, "devminor") : 0,
      xattrs: new Map([...pax].filter(([k]) => k.startsWith(xattrPrefix)).map(([k, v]) => [k.slice(xattrPrefix.length), v])),
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    if (type === undefined) throw bad(`entry ${JSON.stringify(entry.path)} has unsupported type flag ${JSON.stringify(flag)}`);
    // Only regular files carry data; a size on anything else (hard links in some writers) is skipped.
    const dataSize = entry.type === "file" ? entry.size : size;
    const dataPadded = Math.ceil(dataSize / BLOCK) * BLOCK;
    let consumed = 0;
    async function* body(): AsyncGenerator<Buffer> {
      if (entry.type !== "file") return;
      while (consumed < dataSize) {
        const chunk = await src.readSome(dataSize - consumed);
        consumed += chunk.length;
        yield chunk;
      }
    }
    yield { entry, body };
    await src.skip(dataPadded - consumed);
  }
}
