import { createHash } from "node:crypto";
import { BuilderError } from "../errors.js";

export const mediaTypes = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

export type LayerCompression = "gzip" | "zstd" | "none";

const layerTypes: Record<string, LayerCompression> = {
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar": "none",
  "application/vnd.oci.image.layer.v1.tar+gzip": "gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd": "zstd",
};

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export interface ImageManifest {
  config: Descriptor;
  layers: (Descriptor & { compression: LayerCompression })[];
}

/** The parts of the image config a sandbox template keeps. */
export interface ImageConfig {
  env: string[];
  workdir: string;
  user: string;
  entrypoint: string[];
  cmd: string[];
}

export type ParsedManifest = { kind: "index"; manifests: (Descriptor & { platform?: Platform })[] } | { kind: "image"; manifest: ImageManifest };

const digestPattern = /^sha256:[a-f0-9]{64}$/;

/** The platform this process runs on, in OCI's words (Node's `x64` is `amd64`). */
export function hostPlatform(arch: string = process.arch): Platform {
  if (arch === "x64") return { os: "linux", architecture: "amd64" };
  if (arch === "arm64") return { os: "linux", architecture: "arm64", variant: "v8" };
  if (arch === "arm") return { os: "linux", architecture: "arm", variant: "v7" };
  return { os: "linux", architecture: arch };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Throws `invalid_image` unless `bytes` hash to `expected`. Only sha256 digests are accepted. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  if (!digestPattern.test(expected)) throw new BuilderError("invalid_image", `${what} has an unsupported digest "${expected}" (only sha256)`);
  const actual = sha256Digest(bytes);
  if (actual !== expected) throw new BuilderError("invalid_image", `${what} does not match its digest: expected ${expected}, got ${actual}`);
}

function descriptor(value: unknown, what: string): Descriptor {
  const d = value as Partial<Descriptor> | null;
  if (typeof d !== "object" || d === null || typeof d.mediaType !== "string" || typeof d.digest !== "string" || typeof d.size !== "number") {
    throw new BuilderError("invalid_image", `${what} is not a valid descriptor`);
  }
  if (!digestPattern.test(d.digest)) throw new BuilderError("invalid_image", `${what} has an unsupported digest "${d.digest}" (only sha256)`);
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new BuilderError("invalid_image", `${what} has an invalid size`);
  return { mediaType: d.mediaType, digest: d.digest, size: d.size };
}

/**
 * Parses a manifest by its media type (the body's `mediaType`, else the Content-Type). Schema 1
 * manifests (deprecated in 2017, unsigned digests) are refused by name so the user knows to
 * re-push the image.
 */
export function parseManifest(bytes: Buffer, contentType: string, what: string): ParsedManifest {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new BuilderError("invalid_image", `${what} is not JSON`);
  }
  if (typeof json !== "object" || json === null) throw new BuilderError("invalid_image", `${what} is not a JSON object`);
  const mediaType = typeof json.mediaType === "string" ? json.mediaType : contentType;
  if (json.schemaVersion === 1 || mediaType.startsWith("application/vnd.docker.distribution.manifest.v1")) {
    throw new BuilderError(
      "invalid_image",
      `${what} is a Docker schema 1 manifest, which Cove does not support; push the image again with a current Docker or buildah`,
    );
  }
  if (json.schemaVersion !== 2) throw new BuilderError("invalid_image", `${what} has schemaVersion ${String(json.schemaVersion)}, expected 2`);
  if (mediaType === mediaTypes.ociIndex || mediaType === mediaTypes.dockerList || (mediaType === "" && Array.isArray(json.manifests))) {
    if (!Array.isArray(json.manifests)) throw new BuilderError("invalid_image", `${what} is an index without manifests`);
    const manifests = json.manifests.map((m: unknown, i) => {
      const d = descriptor(m, `${what} entry ${i}`);
      const p = (m as { platform?: Partial<Platform> }).platform;
      const platform =
        p && typeof p.os === "string" && typeof p.architecture === "string" ? { os: p.os, architecture: p.architecture, variant: p.variant } : undefined;
      return { ...d, ...(platform && { platform }) };
    });
    return { kind: "index", manifests };
  }
  if (mediaType === mediaTypes.ociManifest || mediaType === mediaTypes.dockerManifest || (mediaType === "" && Array.isArray(json.layers))) {
    const config = descriptor(json.config, `${what} config`);
    if (!Array.isArray(json.layers)) throw new BuilderError("invalid_image", `${what} has no layers list`);
    const layers = json.layers.map((l: unknown, i) => {
      const d = descriptor(l, `${what} layer ${i}`);
      const compression = layerTypes[d.mediaType];
      if (compression === undefined) {
        const why =
          d.mediaType.includes("foreign") || d.mediaType.includes("nondistributable")
            ? "a foreign (non-distributable) layer"
            : `layer media type ${d.mediaType}`;
        throw new BuilderError("invalid_image", `${what} has ${why}, which Cove cannot unpack`);
      }
      return { ...d, compression };
    });
    return { kind: "image", manifest: { config, layers } };
  }
  throw new BuilderError("invalid_image", `${what} has unknown media type "${mediaType}"`);
}

/**
 * Picks the index entry for `want`: same os and architecture, and the same variant when both
 * name one (arm64 images rarely say `v8`). Attestation entries (`unknown/unknown`) never match.
 */
export function selectPlatform(manifests: (Descriptor & { platform?: Platform })[], want: Platform, what: string): Descriptor {
  const candidates = manifests.filter((m) => m.platform?.os === want.os && m.platform.architecture === want.architecture);
  const exact = candidates.find((m) => (m.platform?.variant ?? "") === (want.variant ?? ""));
  const loose = candidates.find((m) => m.platform?.variant === undefined || want.variant === undefined);
  const chosen = exact ?? loose;
  if (chosen !== undefined) return chosen;
  const available = [...new Set(manifests.filter((m) => m.platform && m.platform.os !== "unknown").map((m) => formatPlatform(m.platform!)))];
  throw new BuilderError(
    "platform_not_found",
    `${what} has no image for ${formatPlatform(want)}; available: ${available.length > 0 ? available.join(", ") : "none"}`,
  );
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Reads the image config blob: runtime settings and the uncompressed layer digests, in order. */
export function parseImageConfig(bytes: Buffer, what: string): { config: ImageConfig; diffIds: string[]; platform: Platform | undefined } {
  let json: {
    config?: Record<string, unknown> | null;
    rootfs?: { type?: unknown; diff_ids?: unknown };
    os?: unknown;
    architecture?: unknown;
    variant?: unknown;
  };
  try {
    json = JSON.parse(bytes.toString("utf8")) as typeof json;
  } catch {
    throw new BuilderError("invalid_image", `${what} is not JSON`);
  }
  const c = json.config ?? {};
  const diffIds = strings(json.rootfs?.diff_ids);
  if (json.rootfs?.type !== "layers") throw new BuilderError("invalid_image", `${what} has no rootfs of type "layers"`);
  for (const id of diffIds) if (!digestPattern.test(id)) throw new BuilderError("invalid_image", `${what} has an unsupported diff id "${id}"`);
  const platform =
    typeof json.os === "string" && typeof json.architecture === "string"
      ? { os: json.os, architecture: json.architecture, variant: typeof json.variant === "string" ? json.variant : undefined }
      : undefined;
  return {
    config: {
      env: strings(c.Env),
      workdir: typeof c.WorkingDir === "string" ? c.WorkingDir : "",
      user: typeof c.User === "string" ? c.User : "",
      entrypoint: strings(c.Entrypoint),
      cmd: strings(c.Cmd),
    },
    diffIds,
    platform,
  };
}
