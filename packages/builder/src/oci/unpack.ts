import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { BuilderError } from "../errors.js";
import { defaultLayerFsHelper, openLayerFs } from "./layer-fs-helper.js";
import { LayerWriter } from "./layer-writer.js";
import { readTar } from "./tar-reader.js";

export interface UnpackLayerOptions {
  /** Path of the cove-layer-fs binary; default: the package's build/native copy. */
  helper?: string | undefined;
  /** Called with the size of each compressed chunk consumed, for progress reports. */
  onBytes?: ((bytes: number) => void) | undefined;
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
 * Nothing is written outside `dir`: `..` is refused, and every entry's parents must be
 * directories this layer created (a symlink in the way is refused, since it could point
 * anywhere; see LayerWriter). Node opens files with O_NOFOLLOW|O_EXCL; the native helper, which does
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
  if ((await readdir(dir).catch(() => ["?"])).length > 0) throw new BuilderError("io_failed", `cannot unpack a layer into ${dir}: it is missing or not empty`);
  const fs = openLayerFs(options.helper ?? defaultLayerFsHelper, dir);
  try {
    const state = new LayerWriter(fs);
    for await (const { entry, body } of readTar(tar)) await state.add(entry, body);
    for await (const _chunk of tar); // trailing zero blocks count towards the diff id
    await state.finish();
    await fs.close();
  } catch (err) {
    await fs.abort();
    if (err instanceof BuilderError) throw err;
    throw new BuilderError("io_failed", `cannot unpack a layer into ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return { diffId: `sha256:${hash.digest("hex")}` };
}
