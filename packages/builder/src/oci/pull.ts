import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import type { RegistryCredentials } from "../build-spec.js";
import { BuilderError } from "../errors.js";
import { type BlobCache, createBlobCache } from "./blob-cache.js";
import { createLayerCache, type LayerCache } from "./layer-cache.js";
import {
  formatPlatform,
  hostPlatform,
  type ImageConfig,
  mediaTypes,
  type Platform,
  parseImageConfig,
  parseManifest,
  selectPlatform,
  sha256Digest,
  verifyDigest,
} from "./manifest.js";
import { formatImageReference, parseImageReference } from "./reference.js";
import type { FetchLike } from "./registry-auth.js";
import { createRegistryClient, type OciLogger, type RegistryMirrors } from "./registry-client.js";
import { unpackLayer } from "./unpack.js";

/** Blobs and unpacked layers on this machine; share one between pulls so they download each blob once. */
export interface ImageCache {
  blobs: BlobCache;
  layers: LayerCache;
  /** Path of the cove-layer-fs helper used to unpack. */
  helper?: string | undefined;
}

export function createImageCache(dir: string, options: { helper?: string } = {}): ImageCache {
  return { blobs: createBlobCache(dir), layers: createLayerCache(dir), helper: options.helper };
}

/** One progress report for a layer: bytes so far of `total` (compressed), per phase. */
export interface PullProgress {
  layer: string;
  index: number;
  count: number;
  phase: "download" | "unpack" | "done";
  bytes: number;
  total: number;
  /** On `done`: the layer was already unpacked on this machine. */
  cached?: boolean;
}

export interface PullImageOptions {
  reference: string;
  cache: ImageCache;
  credentials?: RegistryCredentials | undefined;
  /** Default: this host's (linux/amd64, linux/arm64/v8). */
  platform?: Platform | undefined;
  mirrors?: RegistryMirrors | undefined;
  insecureRegistries?: readonly string[] | undefined;
  fetch?: FetchLike | undefined;
  timeoutMs?: number | undefined;
  onProgress?: ((progress: PullProgress) => void) | undefined;
  logger?: OciLogger | undefined;
  /** Layers fetched at once. Default 3. */
  concurrency?: number | undefined;
}

export interface PulledLayer {
  digest: string;
  diffId: string;
  size: number;
  /** Unpacked, in overlayfs form; lowest layer first in `layers`. */
  dir: string;
}

export interface PulledImage {
  /** Canonical form, e.g. `docker.io/library/python:3.12`. */
  reference: string;
  /** Digest of the platform's image manifest. */
  digest: string;
  platform: Platform;
  config: ImageConfig;
  layers: PulledLayer[];
}

const accept = [mediaTypes.ociIndex, mediaTypes.dockerList, mediaTypes.ociManifest, mediaTypes.dockerManifest];
const progressIntervalMs = 250;
const maxConfigBytes = 8 << 20;

/**
 * Pulls an image from any v2 registry without a container engine: resolves the tag (and the
 * platform, for a multi-platform index), verifies every manifest and blob by digest, and
 * unpacks each layer into its own directory, reusing layers already on this machine.
 */
export async function pullImage(options: PullImageOptions): Promise<PulledImage> {
  const ref = parseImageReference(options.reference);
  const name = formatImageReference(ref);
  const platform = options.platform ?? hostPlatform();
  const client = createRegistryClient({
    registry: ref.registry,
    repository: ref.repository,
    credentials: options.credentials,
    mirrors: options.mirrors,
    insecureRegistries: options.insecureRegistries,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
  });

  const top = await client.getManifest(ref.digest ?? ref.tag ?? "latest", accept);
  if (ref.digest !== undefined) verifyDigest(top.bytes, ref.digest, `manifest of ${name}`);
  let parsed = parseManifest(top.bytes, top.mediaType, `manifest of ${name}`);
  let digest = ref.digest;
  if (parsed.kind === "index") {
    const chosen = selectPlatform(parsed.manifests, platform, name);
    const inner = await client.getManifest(chosen.digest, accept);
    verifyDigest(inner.bytes, chosen.digest, `${formatPlatform(platform)} manifest of ${name}`);
    parsed = parseManifest(inner.bytes, inner.mediaType, `${formatPlatform(platform)} manifest of ${name}`);
    if (parsed.kind !== "image") throw new BuilderError("invalid_image", `${name} nests an index inside an index`);
    digest = chosen.digest;
  }
  const manifest = parsed.manifest;
  digest ??= sha256Digest(top.bytes); // what the registry names the manifest by: the hash of the bytes served
  options.logger?.debug({ image: name, digest, layers: manifest.layers.length }, "resolved image manifest");

  if (manifest.config.size > maxConfigBytes) throw new BuilderError("invalid_image", `config of ${name} is larger than ${maxConfigBytes >> 20} MiB`);
  const configPath = await options.cache.blobs.get(manifest.config, async () => (await client.getBlob(manifest.config.digest)).body);
  const { config, diffIds, platform: configPlatform } = parseImageConfig(await readFile(configPath), `config of ${name}`);
  if (diffIds.length !== manifest.layers.length) {
    throw new BuilderError("invalid_image", `${name} has ${manifest.layers.length} layers but its config lists ${diffIds.length} diff ids`);
  }
  if (configPlatform && (configPlatform.os !== platform.os || configPlatform.architecture !== platform.architecture)) {
    throw new BuilderError("platform_not_found", `${name} is for ${formatPlatform(configPlatform)}, not ${formatPlatform(platform)}`);
  }

  const count = manifest.layers.length;
  const layers = await mapLimit(manifest.layers, options.concurrency ?? 3, async (layer, index) => {
    const diffId = diffIds[index]!;
    const report = throttled(options.onProgress, { layer: layer.digest, index, count, total: layer.size });
    const cached = await options.cache.layers.has(layer.digest);
    if (cached !== undefined) {
      report("done", layer.size, true);
      return { digest: layer.digest, diffId, size: layer.size, dir: cached };
    }
    const dir = await options.cache.layers.get(layer.digest, diffId, async (work) => {
      let downloaded = 0;
      const blob = await options.cache.blobs.get(
        layer,
        async () => (await client.getBlob(layer.digest)).body,
        (n) => {
          downloaded += n;
          report("download", downloaded);
        },
      );
      let unpacked = 0;
      return unpackLayer(createReadStream(blob, { highWaterMark: 1 << 20 }), work, {
        helper: options.cache.helper,
        onBytes: (n) => {
          unpacked += n;
          report("unpack", unpacked);
        },
      });
    });
    report("done", layer.size, false);
    return { digest: layer.digest, diffId, size: layer.size, dir };
  });
  return { reference: name, digest, platform, config, layers };
}

/** Progress reports for one layer, at most one per interval per phase except the last. */
function throttled(onProgress: PullImageOptions["onProgress"], base: Pick<PullProgress, "layer" | "index" | "count" | "total">) {
  let last = 0;
  let lastPhase = "";
  return (phase: PullProgress["phase"], bytes: number, cached?: boolean) => {
    if (onProgress === undefined) return;
    const now = Date.now();
    const final = phase === "done" || bytes >= base.total;
    if (!final && phase === lastPhase && now - last < progressIntervalMs) return;
    last = now;
    lastPhase = phase;
    onProgress({ ...base, phase, bytes, ...(cached !== undefined && { cached }) });
  };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  return results;
}
