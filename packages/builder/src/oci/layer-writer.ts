import { constants } from "node:fs";
import { chmod, lchown, link, lutimes, mkdir, open, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { BuilderError } from "../errors.js";
import type { LayerFsRecord } from "./layer-fs-helper.js";
import type { TarEntry } from "./tar-reader.js";

/** Names that overlayfs itself reads; a layer must not forge them. */
const allowedXattr = (name: string) => name.startsWith("user.") || name === "security.capability";
const whiteoutPrefix = ".wh.";
const opaqueMarker = ".wh..wh..opq";
/** Files up to this size are written in the background, several at once. */
const smallFile = 1 << 20;
const maxInFlight = 32;

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

/**
 * Writes one layer's entries into an empty directory that nothing else writes to. Because
 * the directory starts empty, what exists in it is exactly what this writer made, so it
 * tracks every path's kind in memory instead of asking the file system: a path through a
 * symlink or a file is refused without a syscall, and nothing is ever followed.
 */
export class LayerWriter {
  private readonly known = new Map<string, Kind>([["", "dir"]]);
  /** Devices, fifos and whiteouts for the helper, by path, so a later entry can replace one. */
  private readonly nodes = new Map<string, LayerFsRecord>();
  private readonly opaque = new Set<string>();
  private readonly xattrs = new Map<string, LayerFsRecord[]>();
  private readonly dirTimes = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  /** A setgid directory makes new files inherit its group, so root-owned entries need their chown. */
  private setgidSeen = false;
  private readonly isRoot = process.getuid?.() === 0;

  constructor(
    private readonly root: string,
    private readonly umask: number,
  ) {}

  private abs(rel: string): string {
    return rel === "" ? this.root : join(this.root, rel);
  }

  /** Waits for every background write; the first failure is thrown here. */
  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private background(work: Promise<void>): void {
    const p = work.catch((err: unknown) => {
      this.failure ??= err;
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

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
      await mkdir(this.abs(rel), { mode: 0o755 });
      this.known.set(rel, "dir");
    }
  }

  /** Clears `rel` for a new entry, unless both are directories (then the old one is kept). */
  private async clear(rel: string, keepDir: boolean): Promise<void> {
    const kind = this.known.get(rel);
    if (kind === undefined || (keepDir && kind === "dir")) return;
    if (kind !== "node") {
      await this.drain(); // a background write may still hold this path or one below it
      await rm(this.abs(rel), { recursive: true, force: true });
    }
    const inside = (p: string) => p === rel || p.startsWith(`${rel}/`);
    for (const map of [this.known, this.nodes, this.xattrs, this.dirTimes]) for (const p of map.keys()) if (inside(p)) map.delete(p);
    for (const p of this.opaque) if (inside(p)) this.opaque.delete(p);
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
        if (parent !== "") this.opaque.add(parent);
        return;
      }
      if (name.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) return; // aufs bookkeeping (.wh..wh.plnk), not content
      const hidden = name.slice(whiteoutPrefix.length);
      if (hidden === "" || hidden === "." || hidden === "..") throw refuse(entry.path, "is a whiteout of no name");
      const target = parent === "" ? hidden : `${parent}/${hidden}`;
      await this.clear(target, false);
      this.nodes.set(target, { op: "whiteout", path: target });
      this.known.set(target, "node");
      return;
    }
    await this.clear(rel, entry.type === "directory");
    switch (entry.type) {
      case "directory":
        if (this.known.get(rel) !== "dir") await mkdir(this.abs(rel), { mode: 0o755 });
        this.known.set(rel, "dir");
        this.dirTimes.set(rel, entry.mtime);
        if ((entry.mode & 0o2000) !== 0) this.setgidSeen = true;
        await this.metadata(rel, entry);
        return;
      case "file": {
        this.known.set(rel, "file");
        if (entry.size <= smallFile) {
          const chunks: Buffer[] = [];
          for await (const chunk of body()) chunks.push(chunk);
          if (this.inFlight.size >= maxInFlight) await Promise.race(this.inFlight);
          this.background(this.writeFile(rel, entry, chunks));
        } else await this.writeFile(rel, entry, body());
        return;
      }
      case "symlink":
        // The target is data for the sandbox; it is never followed here.
        await symlink(entry.linkpath, this.abs(rel));
        this.known.set(rel, "symlink");
        await this.metadata(rel, entry);
        return;
      case "hardlink":
        return this.hardlink(rel, entry);
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
        this.known.set(rel, "node");
        return;
      }
    }
  }

  private async writeFile(rel: string, entry: TarEntry, data: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
    const file = await open(this.abs(rel), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, entry.mode & 0o777);
    try {
      for await (const chunk of data) await file.write(chunk);
    } finally {
      await file.close();
    }
    await this.metadata(rel, entry);
  }

  private async hardlink(rel: string, entry: TarEntry): Promise<void> {
    const targetParts = layerPath(entry.linkpath);
    const target = targetParts.join("/");
    if (target === "") throw refuse(entry.path, "is a hard link to the layer root");
    await this.parents(targetParts, entry.path, false);
    const kind = this.known.get(target);
    if (kind === undefined) throw refuse(entry.path, `is a hard link to ${JSON.stringify(entry.linkpath)}, which this layer does not have`);
    if (kind === "dir") throw refuse(entry.path, "is a hard link to a directory");
    const node = this.nodes.get(target);
    if (node !== undefined) {
      if (node.op !== "node") throw refuse(entry.path, "is a hard link to a whiteout");
      this.nodes.set(rel, { ...node, path: rel }); // a second node: the helper has no link op
    } else {
      await this.drain(); // the target may still be being written
      await link(this.abs(target), this.abs(rel)); // the link shares the target's inode and metadata
    }
    this.known.set(rel, kind);
  }

  /** Owner, mode and mtime, skipping the calls that would change nothing. */
  private async metadata(rel: string, entry: TarEntry): Promise<void> {
    const abs = this.abs(rel);
    const symlinked = entry.type === "symlink";
    if (entry.uid !== 0 || entry.gid !== 0 || !this.isRoot || this.setgidSeen) await lchown(abs, entry.uid, entry.gid);
    // After chown, which clears setuid; a mode the umask trimmed or with special bits needs it too.
    const created = entry.mode & 0o777 & ~this.umask;
    if (!symlinked && (entry.type === "directory" || entry.mode !== created || entry.uid !== 0 || entry.gid !== 0)) await chmod(abs, entry.mode);
    if (entry.type !== "directory") await lutimes(abs, entry.mtime, entry.mtime);
    const xattrs = [...entry.xattrs].filter(([xname]) => allowedXattr(xname));
    if (!symlinked && xattrs.length > 0)
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
    await this.drain();
    const dirs = [...this.dirTimes].sort((a, b) => b[0].split("/").length - a[0].split("/").length);
    for (const [rel, mtime] of dirs) await lutimes(this.abs(rel), mtime, mtime);
  }
}
