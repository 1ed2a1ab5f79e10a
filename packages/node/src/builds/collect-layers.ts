import type { DiskLayerStore } from "@cove/builder";
import type { TemplateStore } from "../templates/template-store.js";

export interface CollectOptions {
  layers: DiskLayerStore;
  templates: TemplateStore;
  /** The lower dirs of every sandbox this node has (running, paused, pooled, building). */
  sandboxLowerDirs(): Promise<string[]>;
  /** Unused layers younger than this stay, as a build cache. */
  keepMs: number;
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
  for (const m of await options.templates.list()) for (const dir of [m.rootfs, ...(m.layers ?? [])]) used.add(dir);
  const cutoff = (options.now ?? Date.now)() - options.keepMs;
  const removed: string[] = [];
  for (const layer of await options.layers.list()) {
    if (used.has(layer.dir) || Date.parse(layer.committedAt) > cutoff) continue;
    await options.layers.remove(layer.id);
    removed.push(layer.id);
  }
  return removed;
}
