// Builds tar archives byte by byte, so tests can write entries no well-behaved tar would
// (paths with "..", absolute names, links out of the tree).

export interface RawEntry {
  path: string;
  type?: "0" | "1" | "2" | "3" | "4" | "5" | "6" | "x" | "g" | "L" | "K";
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkpath?: string;
  content?: string | Buffer;
  devmajor?: number;
  devminor?: number;
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, "0")}\0`;
}

export function tarHeader(e: RawEntry, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(e.path.slice(0, 100), 0, "utf8");
  block.write(octal(e.mode ?? 0o644, 8), 100);
  block.write(octal(e.uid ?? 0, 8), 108);
  block.write(octal(e.gid ?? 0, 8), 116);
  block.write(octal(size, 12), 124);
  block.write(octal(e.mtime ?? 1_700_000_000, 12), 136);
  block.write(e.type ?? "0", 156);
  block.write((e.linkpath ?? "").slice(0, 100), 157, "utf8");
  block.write("ustar\0", 257, "latin1");
  block.write("00", 263);
  block.write(octal(e.devmajor ?? 0, 8), 329);
  block.write(octal(e.devminor ?? 0, 8), 337);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return block;
}

function pad(data: Buffer): Buffer {
  const rem = data.length % 512;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rem)]);
}

export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (`${len}${body}`.length !== len) len = `${len}${body}`.length;
  return `${len}${body}`;
}

/** A complete archive: headers, padded contents and the two zero blocks at the end. */
export function buildTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const content = typeof e.content === "string" ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0));
    parts.push(tarHeader(e, content.length), pad(content));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
