import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { access, mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { BuilderError } from "../errors.js";
import { sweepStaleTemps, tempName } from "./temp-names.js";

/** A blob's expected identity: its digest, and its size when the manifest gave one. */
export interface BlobRef {
  digest: string;
  size?: number | undefined;
}

/** Content-addressed blobs under `<dir>/blobs/sha256/<hex>`, shared by every image and template. */
export interface BlobCache {
  /** The blob's path if it is already stored. */
  has(digest: string): Promise<string | undefined>;
  /**
   * The blob's path, downloading it first if needed. Concurrent calls for one digest share
   * one download. The body is verified against the digest (and size) while it streams and
   * becomes visible under its final name only when it matches.
   */
  get(ref: BlobRef, open: () => Promise<AsyncIterable<Uint8Array>>, onBytes?: (bytes: number) => void): Promise<string>;
}

const digestPattern = /^sha256:([a-f0-9]{64})$/;

export function blobHex(digest: string): string {
  const hex = digestPattern.exec(digest)?.[1];
  if (hex === undefined) throw new BuilderError("invalid_image", `unsupported digest "${digest}" (only sha256)`);
  return hex;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

export function createBlobCache(dir: string): BlobCache {
  const blobs = join(dir, "blobs/sha256");
  const tmp = join(dir, "blobs/tmp");
  const inflight = new Map<string, Promise<string>>();
  let swept: Promise<void> | undefined;

  async function download(ref: BlobRef, open: () => Promise<AsyncIterable<Uint8Array>>, onBytes?: (bytes: number) => void): Promise<string> {
    const hex = blobHex(ref.digest);
    const final = join(blobs, hex);
    if (await exists(final)) return final;
    await mkdir(blobs, { recursive: true });
    await mkdir(tmp, { recursive: true });
    swept ??= sweepStaleTemps(tmp);
    await swept;
    const part = join(tmp, tempName(hex));
    const hash = createHash("sha256");
    let total = 0;
    // A deep write buffer so the download does not wait for the disk after every 64 KiB chunk.
    const out = createWriteStream(part, { flags: "wx", highWaterMark: 8 << 20 });
    try {
      for await (const chunk of await open()) {
        total += chunk.length;
        if (ref.size !== undefined && total > ref.size)
          throw new BuilderError("invalid_image", `blob ${ref.digest} is larger than its manifest says (${ref.size} bytes)`);
        hash.update(chunk);
        if (!out.write(chunk)) await once(out, "drain"); // rejects if the write fails
        onBytes?.(chunk.length);
      }
      out.end();
      await finished(out);
      const actual = `sha256:${hash.digest("hex")}`;
      if (actual !== ref.digest) throw new BuilderError("invalid_image", `blob ${ref.digest} does not match its digest (got ${actual})`);
      if (ref.size !== undefined && total !== ref.size)
        throw new BuilderError("invalid_image", `blob ${ref.digest} has ${total} bytes, its manifest says ${ref.size}`);
      await rename(part, final);
      return final;
    } catch (err) {
      out.destroy();
      // The file is opened asynchronously: removed before that open completes, it would come back.
      if (!out.closed) await once(out, "close").catch(() => {});
      await rm(part, { force: true }).catch(() => {}); // the download's error is the one to report
      if (err instanceof BuilderError) throw err;
      throw new BuilderError("registry_unreachable", `download of blob ${ref.digest} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  return {
    async has(digest) {
      const path = join(blobs, blobHex(digest));
      return (await exists(path)) ? path : undefined;
    },
    get(ref, open, onBytes) {
      const running = inflight.get(ref.digest);
      if (running !== undefined) return running;
      const promise = download(ref, open, onBytes).finally(() => inflight.delete(ref.digest));
      inflight.set(ref.digest, promise);
      return promise;
    },
  };
}
