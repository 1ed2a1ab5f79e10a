import { access, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { BuilderError } from "../errors.js";
import { blobHex } from "./blob-cache.js";
import { sweepStaleTemps, tempName } from "./temp-names.js";

/**
 * Unpacked layers under `<dir>/layers/sha256/<hex of the compressed digest>`, each usable as
 * an overlayfs lowerdir and shared by every image that has the layer. A layer is unpacked
 * into `layers/tmp/` and renamed into place only once complete and verified, so a crash
 * never leaves a half layer where a pull would find it.
 */
export interface LayerCache {
  has(digest: string): Promise<string | undefined>;
  /**
   * The layer's directory, unpacking it first if needed (one unpack per digest at a time).
   * `unpack` fills the empty directory it is given and returns the uncompressed digest, which
   * must equal `diffId`.
   */
  get(digest: string, diffId: string, unpack: (dir: string) => Promise<{ diffId: string }>): Promise<string>;
}

export function createLayerCache(dir: string): LayerCache {
  const layers = join(dir, "layers/sha256");
  const tmp = join(dir, "layers/tmp");
  const inflight = new Map<string, Promise<string>>();
  let swept: Promise<void> | undefined;

  async function has(digest: string): Promise<string | undefined> {
    const path = join(layers, blobHex(digest));
    return access(path).then(
      () => path,
      () => undefined,
    );
  }

  async function build(digest: string, diffId: string, unpack: (dir: string) => Promise<{ diffId: string }>): Promise<string> {
    const found = await has(digest);
    if (found !== undefined) return found;
    const final = join(layers, blobHex(digest));
    await mkdir(layers, { recursive: true });
    await mkdir(tmp, { recursive: true });
    swept ??= sweepStaleTemps(tmp);
    await swept;
    const work = join(tmp, tempName(blobHex(digest)));
    await mkdir(work, { mode: 0o755 });
    try {
      const result = await unpack(work);
      if (result.diffId !== diffId) throw new BuilderError("invalid_image", `layer ${digest} unpacks to ${result.diffId}, but the image config says ${diffId}`);
      try {
        await rename(work, final);
      } catch (err) {
        // Another process finished the same layer first: theirs is as good as ours.
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
        await rm(work, { recursive: true, force: true });
      }
      return final;
    } catch (err) {
      await rm(work, { recursive: true, force: true }).catch(() => {}); // the unpack's error is the one to report
      if (err instanceof BuilderError) throw err;
      throw new BuilderError("io_failed", `cannot store layer ${digest}: ${(err as Error).message}`, { cause: err });
    }
  }

  return {
    has,
    get(digest, diffId, unpack) {
      const running = inflight.get(digest);
      if (running !== undefined) return running;
      const promise = build(digest, diffId, unpack).finally(() => inflight.delete(digest));
      inflight.set(digest, promise);
      return promise;
    },
  };
}
