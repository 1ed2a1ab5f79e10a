import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BuilderError } from "../errors.js";
import type { Layer, LayerStore, StagedLayer } from "./layer-store.js";

/**
 * Layers on local disk:
 *   layers/<id>/diff        the files (an overlay lower dir), layers/<id>/layer.json its record
 *   keys/<key>              the id of the layer last committed under that cache key
 *   staging/<random>/diff   a step's upper dir while it runs
 * Commit renames the staged dir into layers/ and then points the key at it, so a crash leaves
 * either no layer or a complete one (an unreferenced one is collected later), never half of one.
 */
export interface DiskLayerStore extends LayerStore {
  /** Every key with a committed layer, for the planner. */
  keys(): Promise<Set<string>>;
  /** Removes a layer no build uses any more (the caller knows which). */
  remove(id: string): Promise<void>;
  /** Removes what interrupted builds left in staging/. */
  clearStaging(): Promise<void>;
  /** Every committed layer, with when it was committed. */
  list(): Promise<(Layer & { committedAt: string })[]>;
}

const KEY = /^[0-9a-f]{64}$/;
const ID = /^[0-9a-f]{16}$/;

interface LayerRecord {
  id: string;
  key: string;
  empty: boolean;
  committedAt: string;
}

export async function createDiskLayerStore(root: string): Promise<DiskLayerStore> {
  const dirs = { layers: join(root, "layers"), keys: join(root, "keys"), staging: join(root, "staging") };
  // 0700: layers hold the templates' setuid binaries and whatever files users copied in.
  await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true, mode: 0o700 })));

  const layerOf = (record: LayerRecord): Layer => ({ id: record.id, key: record.key, dir: join(dirs.layers, record.id, "diff"), empty: record.empty });
  const stagingRoot = (staged: StagedLayer) => join(staged.dir, "..");

  async function readRecord(id: string): Promise<LayerRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(dirs.layers, id, "layer.json"), "utf8")) as LayerRecord;
    } catch {
      return undefined;
    }
  }

  return {
    async get(key) {
      if (!KEY.test(key)) return undefined;
      const id = (await readFile(join(dirs.keys, key), "utf8").catch(() => "")).trim();
      if (!ID.test(id)) return undefined;
      const record = await readRecord(id);
      return record ? layerOf(record) : undefined;
    },
    async keys() {
      return new Set((await readdir(dirs.keys)).filter((k) => KEY.test(k)));
    },
    async stage() {
      const dir = join(dirs.staging, randomBytes(8).toString("hex"), "diff");
      await mkdir(dir, { recursive: true, mode: 0o755 });
      return { dir };
    },
    async commit(staged, key) {
      if (!KEY.test(key)) throw new BuilderError("invalid_spec", `invalid layer key '${key}'`);
      const id = randomBytes(8).toString("hex");
      const record: LayerRecord = { id, key, empty: (await readdir(staged.dir)).length === 0, committedAt: new Date().toISOString() };
      await writeFile(join(stagingRoot(staged), "layer.json"), `${JSON.stringify(record)}\n`);
      await rename(stagingRoot(staged), join(dirs.layers, id));
      const tmp = join(dirs.keys, `.${key}.${id}`);
      await writeFile(tmp, `${id}\n`);
      await rename(tmp, join(dirs.keys, key));
      return layerOf(record);
    },
    async discard(staged) {
      await rm(stagingRoot(staged), { recursive: true, force: true });
    },
    async remove(id) {
      if (!ID.test(id)) throw new BuilderError("invalid_spec", `invalid layer id '${id}'`);
      const record = await readRecord(id);
      if (record && (await readFile(join(dirs.keys, record.key), "utf8").catch(() => "")).trim() === id) {
        await rm(join(dirs.keys, record.key), { force: true });
      }
      await rm(join(dirs.layers, id), { recursive: true, force: true });
    },
    async list() {
      const ids = (await readdir(dirs.layers)).filter((id) => ID.test(id));
      const records = await Promise.all(ids.map((id) => readRecord(id)));
      return records.filter((r): r is LayerRecord => r !== undefined).map((r) => ({ ...layerOf(r), committedAt: r.committedAt }));
    },
    async clearStaging() {
      await rm(dirs.staging, { recursive: true, force: true });
      await mkdir(dirs.staging, { recursive: true, mode: 0o700 });
    },
  };
}
