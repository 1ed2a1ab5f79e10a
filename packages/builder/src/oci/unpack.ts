import { createHash } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { BuilderError } from "../errors.js";
import { defaultLayerFsHelper, type LayerFsRecord, runLayerFsHelper } from "./layer-fs-helper.js";
import { readTar, type TarEntry } from "./tar-reader.js";

export interface UnpackLayerOptions {
  /** Path of the cove-layer-fs binary; default: the package's build/native copy. */
  helper?: string | undefined;
  /** Called with the size of each compressed chunk consumed, for progress reports. */
  onBytes?: ((bytes: number) => void) | undefined;
}

/** Names that overlayfs itself reads; a layer must not forge them. */
const allowedXattr = (name: string) => name.startsWith("user.") || name === "security.capability";
const whiteoutPrefix = ".wh.";
const opaqueMarker = ".wh..wh..opq";

function refuse(path: string, why: string): BuilderError {
  return new BuilderError("invalid_image", `layer entry ${JSON.stringify(path)} ${why}`);
}

/**
 * The entry's path relative to the layer root, as components. A leading `/` or `./` is
 * dropped (archives from some tools are absolute), and `..` is refused outright rather than
 * resolved: no legitimate layer needs it.
 */
export function layerPath(raw: string): string[] {
  if (raw.includes("\0")) throw refuse(raw, "has a NUL byte");
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw refuse(raw, 'has a ".." component');
  return parts;
}

async function* decompress(input: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): AsyncGenerator<Uint8Array> {
  const it = input[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) break;
    onBytes?.(r.value.length);
    head = Buffer.concat([head, r.value]);
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      onBytes?.(r.value.length);
      yield r.value;
    }
  }
  // By magic number rather than media type: some registries label layers loosely.
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const zstd = head.readUInt32LE(0) === 0xfd2fb528;
  if (!gzip && !zstd) {
    yield* rest();
    return;
  }
  const source = Readable.from(rest());
  // Large output chunks: zlib's default 16 KiB makes inflating several times slower.
  const inflate = gzip ? createGunzip({ chunkSize: 1 << 20 }) : createZstdDecompress({ chunkSize: 1 << 20 });
  source.on("error", (err) => inflate.destroy(err));
  try {
    for await (const chunk of source.pipe(inflate)) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof BuilderError) throw err;
    throw new BuilderError("invalid_image", `layer does not decompress as ${gzip ? "gzip" : "zstd"}: ${(err as Error).message}`, { cause: err });
  } finally {
    source.destroy();
  }
}

/**
 * Unpacks one layer (gzip, zstd or plain tar) into the empty directory `dir` in overlayfs
 * form: whiteouts become 0:0 character devices, opaque markers the `trusted.overlay.opaque`
 * xattr, so the directory can serve as an overlay lowerdir as it is. Returns the digest of
 * the uncompressed tar (the image config's diff id).
 *
 * Nothing is written outside `dir`: `..` is refused, and every entry's parents are checked to
 * be real directories created by this layer (a symlink in the way is refused, since it could
 * point anywhere). Node opens files with O_NOFOLLOW|O_EXCL; the native helper, which does
 * what Node cannot (mknod, xattrs), resolves with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS.
 */
export async function unpackLayer(input: AsyncIterable<Uint8Array>, dir: string, options: UnpackLayerOptions = {}): Promise<{ diffId: string }> {
  const hash = createHash("sha256");
  const tar = (async function* () {
    for await (const chunk of decompress(input, options.onBytes)) {
      hash.update(chunk);
      yield chunk;
    }
  })();
  const state = new LayerWriter(dir);
  try {
    for await (const { entry, body } of readTar(tar)) await state.add(entry, body);
    for await (const _chunk of tar); // trailing zero blocks count towards the diff id
    await runLayerFsHelper(options.helper ?? defaultLayerFsHelper, dir, state.records());
    await state.finish();
  } catch (err) {
    if (err instanceof BuilderError) throw err;
    throw new BuilderError("io_failed", `cannot unpack a layer into ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return { diffId: `sha256:${hash.digest("hex")}` };
}

/** The layer being written: which directories are known safe, and what the helper still has to do. */
class LayerWriter {
  /** Relative paths of directories this layer made or checked (no symlink on the way). */
  private readonly dirs = new Set<string>([""]);
  /** Devices, fifos and whiteouts for the helper, by path, so a later entry can replace one. */
  private readonly nodes = new Map<string, LayerFsRecord>();
  private readonly opaque = new Set<string>();
  private readonly xattrs = new Map<string, LayerFsRecord[]>();
  private readonly dirTimes = new Map<string, number>();

  constructor(private readonly root: string) {}

  private abs(rel: string): string {
    return rel === "" ? this.root : join(this.root, rel);
  }

  private async stat(rel: string): Promise<Stats | undefined> {
    return lstat(this.abs(rel)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
  }

  /** Makes every parent a real directory of this layer; refuses a symlink or file in the way. */
  private async parents(parts: string[], raw: string, create: boolean): Promise<void> {
    let rel = "";
    for (const part of parts.slice(0, -1)) {
      rel = rel === "" ? part : `${rel}/${part}`;
      if (this.dirs.has(rel)) continue;
      if (this.nodes.has(rel)) throw refuse(raw, `goes through ${rel}, which is not a directory`);
      const st = await this.stat(rel);
      if (st === undefined) {
        if (!create) throw refuse(raw, `needs ${rel}, which the layer does not have`);
        await mkdir(this.abs(rel), { mode: 0o755 });
      } else if (st.isSymbolicLink()) throw refuse(raw, `goes through the symlink ${rel}`);
      else if (!st.isDirectory()) throw refuse(raw, `goes through ${rel}, which is not a directory`);
      this.dirs.add(rel);
    }
  }

  /** Clears `rel` for a new entry, unless both are directories (then the old one is kept). */
  private async clear(rel: string, keepDir: boolean): Promise<void> {
    this.nodes.delete(rel);
    const st = await this.stat(rel);
    if (st === undefined || (keepDir && st.isDirectory())) return;
    await rm(this.abs(rel), { recursive: true, force: true });
    for (const set of [this.dirs, this.opaque]) for (const d of set) if (d === rel || d.startsWith(`${rel}/`)) set.delete(d);
    for (const map of [this.nodes, this.xattrs]) for (const d of map.keys()) if (d === rel || d.startsWith(`${rel}/`)) map.delete(d);
  }

  async add(entry: TarEntry, body: () => AsyncGenerator<Buffer>): Promise<void> {
    const parts = layerPath(entry.path);
    if (parts.length === 0) return; // the layer root itself: its metadata is the overlay's
    const name = parts[parts.length - 1]!;
    const parent = parts.slice(0, -1).join("/");
    const rel = parts.join("/");
    if (name.startsWith(whiteoutPrefix)) {
      await this.parents(parts, entry.path, true);
      if (name === opaqueMarker) {
        if (parent !== "") this.opaque.add(parent);
        return;
      }
      if (name.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) return; // aufs bookkeeping (.wh..wh.plnk), not content
      const hidden = name.slice(whiteoutPrefix.length);
      if (hidden === "" || hidden === "." || hidden === "..") throw refuse(entry.path, "is a whiteout of no name");
      const target = parent === "" ? hidden : `${parent}/${hidden}`;
      await this.clear(target, false);
      this.nodes.set(target, { op: "whiteout", path: target });
      return;
    }
    await this.parents(parts, entry.path, true);
    await this.clear(rel, entry.type === "directory");
    const abs = this.abs(rel);
    switch (entry.type) {
      case "directory":
        if ((await this.stat(rel)) === undefined) await mkdir(abs);
        this.dirs.add(rel);
        this.dirTimes.set(rel, entry.mtime);
        break;
      case "file": {
        const file = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body()) await file.write(chunk);
        } finally {
          await file.close();
        }
        break;
      }
      case "symlink":
        // The target is data for the sandbox; it is never followed here.
        await symlink(entry.linkpath, abs);
        break;
      case "hardlink": {
        const targetParts = layerPath(entry.linkpath);
        const target = targetParts.join("/");
        if (target === "") throw refuse(entry.path, "is a hard link to the layer root");
        await this.parents(targetParts, entry.path, false);
        const node = this.nodes.get(target);
        if (node?.op === "node") {
          this.nodes.set(rel, { ...node, path: rel }); // a second node: the helper has no link op
          return;
        }
        const st = await this.stat(target);
        if (st === undefined) throw refuse(entry.path, `is a hard link to ${JSON.stringify(entry.linkpath)}, which this layer does not have`);
        if (st.isDirectory()) throw refuse(entry.path, "is a hard link to a directory");
        await link(this.abs(target), abs);
        return; // the link shares the target's inode and metadata
      }
      case "chardev":
      case "blockdev":
      case "fifo": {
        const kind = entry.type === "chardev" ? "c" : entry.type === "blockdev" ? "b" : "p";
        this.nodes.set(rel, {
          op: "node",
          path: rel,
          kind,
          mode: entry.mode,
          major: entry.devmajor,
          minor: entry.devminor,
          uid: entry.uid,
          gid: entry.gid,
          mtime: entry.mtime,
        });
        return;
      }
    }
    await lchown(abs, entry.uid, entry.gid);
    if (entry.type !== "symlink") await chmod(abs, entry.mode); // after chown, which clears setuid
    if (entry.type !== "directory") await lutimes(abs, entry.mtime, entry.mtime);
    const xattrs = [...entry.xattrs].filter(([xname]) => allowedXattr(xname));
    if (entry.type !== "symlink" && xattrs.length > 0)
      this.xattrs.set(
        rel,
        xattrs.map(([xname, value]) => ({ op: "xattr", path: rel, name: xname, value })),
      );
  }

  records(): LayerFsRecord[] {
    const opaque: LayerFsRecord[] = [...this.opaque].map((path) => ({ op: "opaque", path }));
    return [...this.nodes.values(), ...opaque, ...[...this.xattrs.values()].flat()];
  }

  /** Directory mtimes last and deepest first: creating their children changed them. */
  async finish(): Promise<void> {
    const dirs = [...this.dirTimes].filter(([rel]) => this.dirs.has(rel)).sort((a, b) => b[0].split("/").length - a[0].split("/").length);
    for (const [rel, mtime] of dirs) await lutimes(this.abs(rel), mtime, mtime);
  }
}
