import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Spawner } from "@cove/protocol/spawner";
import { createExt4Image } from "./ext4-image.js";
import type { StorageLogger } from "./types.js";

/**
 * Formatted, unmounted disk images made ahead of time, so a cold create moves one into place
 * (a rename) instead of waiting for mkfs.ext4 (issue 12: "prepared ahead of time"). Only the
 * most recently asked-for size is kept; a spare is an ordinary sparse image with nothing on
 * it, so a crash leaves nothing but files, which `clear` deletes at start.
 */
export interface SpareImages {
  /** Moves a spare of exactly `bytes` to `image` (same filesystem); false when there is none. */
  claim(bytes: number, image: string): Promise<boolean>;
  /**
   * Makes spares of `bytes` in the background until `count` wait, starting `REFILL_DELAY_MS`
   * later (off the create that used one); spares of other sizes go.
   */
  refill(bytes: number): void;
  /** Waits for the refill under way, then deletes every spare. */
  clear(): Promise<void>;
}

/** The create that claimed a spare is still booting its sandbox: mkfs waits until it is done. */
const REFILL_DELAY_MS = 500;

interface Spare {
  path: string;
  bytes: number;
}

export function createSpareImages(dir: string, count: number, spawner?: Spawner, logger?: StorageLogger): SpareImages {
  const spares: Spare[] = [];
  let wanted: number | undefined;
  let refilling: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let next = 0;
  let closed = false;

  async function fill(): Promise<void> {
    await mkdir(dir, { recursive: true });
    while (!closed && wanted !== undefined) {
      const bytes = wanted;
      const stale = spares.filter((s) => s.bytes !== bytes);
      for (const s of stale) spares.splice(spares.indexOf(s), 1);
      await Promise.all(stale.map((s) => rm(s.path, { force: true })));
      if (spares.length >= count) return;
      const path = join(dir, `${process.pid}-${next++}.ext4`);
      // Made under another name: an image under its final name is always a finished one.
      const making = `${path}.making`;
      try {
        await createExt4Image(making, bytes, spawner);
        await rename(making, path);
      } catch (err) {
        // A full host disk or a missing mkfs: prepare then makes its own image and says why.
        await rm(making, { force: true });
        logger?.warn({ err: String(err) }, "cannot make a spare disk image");
        return;
      }
      if (closed) await rm(path, { force: true });
      else spares.push({ path, bytes });
    }
  }

  return {
    async claim(bytes, image) {
      const index = spares.findIndex((s) => s.bytes === bytes);
      if (index < 0) return false;
      const [spare] = spares.splice(index, 1);
      try {
        await rename(spare!.path, image);
        return true;
      } catch {
        await rm(spare!.path, { force: true });
        return false;
      }
    },
    refill(bytes) {
      if (count <= 0 || closed) return;
      wanted = bytes;
      if (refilling || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        refilling = fill().finally(() => {
          refilling = undefined;
        });
      }, REFILL_DELAY_MS);
      // An idle node with no refill due must be able to exit.
      timer.unref();
    },
    async clear() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      await refilling;
      spares.length = 0;
      await rm(dir, { recursive: true, force: true });
      closed = false;
      wanted = undefined;
    },
  };
}
