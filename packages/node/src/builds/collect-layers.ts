import { existsSync } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { DiskLayerStore } from "@cove/builder";
import type { TemplateStore } from "../templates/template-store.js";

export interface CollectOptions {
  layers: DiskLayerStore;
  templates: TemplateStore;
  /** The lower dirs of every sandbox this node has (running, paused, pooled, building). */
  sandboxLowerDirs(): Promise<string[]>;
  /** Unused layers younger than this stay, as a build cache. */
  keepMs: number;
  /**
   * Where templates live: paths in a manifest are relative to their template's dir, and the
   * builds of templates that carry their own files (`<name>/builds/<id>`) are collected too.
   */
  templatesDir?: string;
  /** The pulled-image cache (`blobs/sha256/`, `layers/sha256/`): its unused unpacked layers and old blobs go too. */
  imagesDir?: string;
  now?: () => number;
}

/**
 * Removes layers no template and no sandbox uses once they are older than the cache window: a
 * deleted template's layers go when its last sandbox has, a rebuilt template's replaced layers
 * likewise. The caller runs it only while no build is in flight (a build's layers are used by
 * nothing until its template is written).
 */
export async function collectLayers(options: CollectOptions): Promise<string[]> {
  const used = new Set(await options.sandboxLowerDirs());
  const templatesDir = options.templatesDir;
  for (const m of await options.templates.list()) {
    for (const dir of [m.rootfs, ...(m.layers ?? [])]) used.add(templatesDir ? resolve(templatesDir, m.name, dir) : dir);
  }
  const cutoff = (options.now ?? Date.now)() - options.keepMs;
  const removed: string[] = [];
  for (const layer of await options.layers.list()) {
    if (used.has(layer.dir) || Date.parse(layer.committedAt) > cutoff) continue;
    await options.layers.remove(layer.id);
    removed.push(layer.id);
  }
  if (options.imagesDir) removed.push(...(await collectImages(options.imagesDir, used, cutoff)));
  if (templatesDir) removed.push(...(await collectTemplateBuilds(templatesDir, used, (options.now ?? Date.now)())));
  return removed;
}

/** Entries of a dir with their last change (a missing dir has none). */
async function aged(dir: string): Promise<{ path: string; name: string; mtimeMs: number }[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out = [];
  for (const name of names) {
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st) out.push({ path: join(dir, name), name, mtimeMs: st.mtimeMs });
  }
  return out;
}

/**
 * Unpacked image layers no template and no sandbox stacks go once past the window, like build
 * layers. Downloaded blobs are only the input of an unpack (and the image's manifest and
 * config, fetched again by the next pull), so they go once past the window whatever uses them.
 */
async function collectImages(imagesDir: string, used: Set<string>, cutoff: number): Promise<string[]> {
  const removed: string[] = [];
  for (const layer of await aged(join(imagesDir, "layers/sha256"))) {
    if (used.has(layer.path) || layer.mtimeMs > cutoff) continue;
    await rm(layer.path, { recursive: true, force: true });
    removed.push(`image layer sha256:${layer.name}`);
  }
  for (const blob of await aged(join(imagesDir, "blobs/sha256"))) {
    if (blob.mtimeMs > cutoff) continue;
    await rm(blob.path, { force: true });
    removed.push(`image blob sha256:${blob.name}`);
  }
  return removed;
}

/** A build still being made (`builds/.tmp-<id>`) is left alone unless it is this old: its maker died. */
const ABANDONED_BUILD_MS = 24 * 3_600_000;
/**
 * A finished build this recent is left alone: its maker (`cove template build`, another process)
 * may be switching the manifest to it right now.
 */
const RECENT_BUILD_MS = 10 * 60_000;

/**
 * Builds of templates that carry their own files (code-interpreter-v1: `<name>/builds/<id>/`)
 * that no tag and no sandbox stacks any more: a rebuild's predecessor, once its last sandbox is
 * gone. No cache window: such a build is never a starting point for another.
 */
async function collectTemplateBuilds(templatesDir: string, used: Set<string>, now: number): Promise<string[]> {
  const removed: string[] = [];
  const paths = [...used];
  for (const template of await readdir(templatesDir).catch(() => [] as string[])) {
    if (template.startsWith(".")) continue;
    const builds = await aged(join(templatesDir, template, "builds"));
    let left = builds.length;
    for (const build of builds) {
      if (now - build.mtimeMs < (build.name.startsWith(".tmp-") ? ABANDONED_BUILD_MS : RECENT_BUILD_MS)) continue;
      if (paths.some((p) => p === build.path || p.startsWith(`${build.path}/`))) continue;
      await rm(build.path, { recursive: true, force: true });
      removed.push(`template build ${template}/${build.name}`);
      left--;
    }
    // A deleted template (no manifest any more) goes with its last build.
    const dir = join(templatesDir, template);
    if (builds.length > 0 && left === 0 && !existsSync(join(dir, "template.json")) && !existsSync(join(dir, "tags"))) {
      await rm(dir, { recursive: true, force: true });
      removed.push(`template ${template}`);
    }
  }
  return removed;
}
