import { BuilderError } from "../errors.js";
import type { LayerFs } from "./layer-fs-helper.js";
import type { TarEntry } from "./tar-reader.js";

/** Names that overlayfs itself reads; a layer must not forge them. */
const allowedXattr = (name: string) => name.startsWith("user.") || name === "security.capability";
const whiteoutPrefix = ".wh.";
const opaqueMarker = ".wh..wh..opq";

type Kind = "dir" | "file" | "symlink" | "node";

export function refuse(path: string, why: string): BuilderError {
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

function time(mtime: number): [number, number] {
  const sec = Math.floor(mtime);
  return [sec, Math.min(999_999_999, Math.round((mtime - sec) * 1e9))];
}

/**
 * Turns one layer's entries into cove-layer-fs records for an empty directory that nothing
 * else writes to. Because the directory starts empty, what exists in it is exactly what was
 * sent, so the writer knows every path's kind without asking the file system: a path through
 * a symlink or a file is refused here, before the helper (which resolves beneath the root and
 * never follows a symlink) sees it.
 */
export class LayerWriter {
  private readonly known = new Map<string, Kind>([["", "dir"]]);
  private readonly dirTimes = new Map<string, number>();

  constructor(private readonly fs: LayerFs) {}

  /** Makes every parent a directory of this layer; refuses a symlink or anything else in the way. */
  private async parents(parts: string[], raw: string, create: boolean): Promise<void> {
    let rel = "";
    for (const part of parts.slice(0, -1)) {
      rel = rel === "" ? part : `${rel}/${part}`;
      const kind = this.known.get(rel);
      if (kind === "dir") continue;
      if (kind === "symlink") throw refuse(raw, `goes through the symlink ${rel}`);
      if (kind !== undefined) throw refuse(raw, `goes through ${rel}, which is not a directory`);
      if (!create) throw refuse(raw, `needs ${rel}, which the layer does not have`);
      await this.fs.record(["D", rel, "755", 0, 0]);
      this.known.set(rel, "dir");
    }
  }

  /** Clears `rel` for a new entry, unless both are directories (then the old one is kept). */
  private async clear(rel: string, keepDir: boolean): Promise<void> {
    const kind = this.known.get(rel);
    if (kind === undefined || (keepDir && kind === "dir")) return;
    await this.fs.record(["R", rel]);
    const inside = (p: string) => p === rel || p.startsWith(`${rel}/`);
    for (const map of [this.known, this.dirTimes]) for (const p of map.keys()) if (inside(p)) map.delete(p);
  }

  async add(entry: TarEntry, body: () => AsyncGenerator<Buffer>): Promise<void> {
    const parts = layerPath(entry.path);
    if (parts.length === 0) return; // the layer root itself: its metadata is the overlay's
    const name = parts[parts.length - 1]!;
    const parent = parts.slice(0, -1).join("/");
    const rel = parts.join("/");
    await this.parents(parts, entry.path, true);
    if (name.startsWith(whiteoutPrefix)) {
      if (name === opaqueMarker) {
        if (parent !== "") await this.fs.record(["O", parent]);
        return;
      }
      if (name.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) return; // aufs bookkeeping (.wh..wh.plnk), not content
      const hidden = name.slice(whiteoutPrefix.length);
      if (hidden === "" || hidden === "." || hidden === "..") throw refuse(entry.path, "is a whiteout of no name");
      const target = parent === "" ? hidden : `${parent}/${hidden}`;
      await this.clear(target, false);
      await this.fs.record(["W", target]);
      this.known.set(target, "node");
      return;
    }
    await this.clear(rel, entry.type === "directory");
    const mode = entry.mode.toString(8);
    const [sec, nsec] = time(entry.mtime);
    switch (entry.type) {
      case "directory":
        await this.fs.record(["D", rel, mode, entry.uid, entry.gid]);
        this.known.set(rel, "dir");
        this.dirTimes.set(rel, entry.mtime);
        break;
      case "file":
        await this.fs.record(["F", rel, mode, entry.uid, entry.gid, sec, nsec, entry.size]);
        for await (const chunk of body()) await this.fs.data(chunk);
        this.known.set(rel, "file");
        break;
      case "symlink":
        // The target is data for the sandbox; it is never followed.
        if (entry.linkpath.includes("\0")) throw refuse(entry.path, "has a NUL byte in its target");
        await this.fs.record(["S", rel, entry.linkpath, entry.uid, entry.gid, sec, nsec]);
        this.known.set(rel, "symlink");
        return;
      case "hardlink":
        return this.hardlink(rel, entry);
      case "chardev":
      case "blockdev":
      case "fifo": {
        const kind = entry.type === "chardev" ? "c" : entry.type === "blockdev" ? "b" : "p";
        await this.fs.record(["N", rel, kind, mode, entry.devmajor, entry.devminor, entry.uid, entry.gid, sec, nsec]);
        this.known.set(rel, "node");
        break;
      }
    }
    for (const [xname, value] of entry.xattrs) if (allowedXattr(xname)) await this.fs.record(["X", rel, xname, value.toString("hex")]);
  }

  private async hardlink(rel: string, entry: TarEntry): Promise<void> {
    const targetParts = layerPath(entry.linkpath);
    const target = targetParts.join("/");
    if (target === "") throw refuse(entry.path, "is a hard link to the layer root");
    await this.parents(targetParts, entry.path, false);
    const kind = this.known.get(target);
    if (kind === undefined) throw refuse(entry.path, `is a hard link to ${JSON.stringify(entry.linkpath)}, which this layer does not have`);
    if (kind === "dir") throw refuse(entry.path, "is a hard link to a directory");
    await this.fs.record(["H", rel, target]); // shares the target's inode and metadata
    this.known.set(rel, kind);
  }

  /** Directory mtimes last and deepest first: creating their children changed them. */
  async finish(): Promise<void> {
    const dirs = [...this.dirTimes].sort((a, b) => b[0].split("/").length - a[0].split("/").length);
    for (const [rel, mtime] of dirs) await this.fs.record(["T", rel, ...time(mtime)]);
  }
}
