import { BuilderError } from "../errors.js";
import type { RegistryCredentials } from "../build-spec.js";
import { resolveRegistryCredentials } from "./cloud-credentials.js";
import { type BasicCredentials, basicAuthorization, describeFetchError, type FetchLike, fetchBearerToken, parseWwwAuthenticate } from "./registry-auth.js";

/** Operator-configured mirrors: registry host (`docker.io`, `ghcr.io`) → base URLs tried before the registry itself. */
export type RegistryMirrors = Readonly<Record<string, readonly string[]>>;

/** The pino subset the builder logs through. */
export interface OciLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RegistryClientOptions {
  registry: string;
  repository: string;
  credentials?: RegistryCredentials | undefined;
  mirrors?: RegistryMirrors | undefined;
  /** Registries spoken to over plain http (a loopback or lab registry the operator named). */
  insecureRegistries?: readonly string[] | undefined;
  fetch?: FetchLike | undefined;
  /** Until response headers arrive, and then between two chunks of a body. Default 30 s. */
  timeoutMs?: number | undefined;
  logger?: OciLogger | undefined;
}

export interface RegistryClient {
  /** The manifest's bytes exactly as served (digests are computed over them) and its media type. */
  getManifest(reference: string, accept: readonly string[]): Promise<{ bytes: Buffer; mediaType: string }>;
  /** A blob's body; the caller verifies the digest while reading it. */
  getBlob(digest: string): Promise<{ body: AsyncIterable<Uint8Array>; size: number | undefined }>;
}

/**
 * Base URLs to try for a registry, mirrors first: Docker Hub's API lives at
 * registry-1.docker.io, every other registry at its own host. Mirror URLs are taken as given
 * (http included: the operator wrote them); the registry itself is https unless listed insecure.
 */
export function registryEndpoints(registry: string, mirrors: RegistryMirrors = {}, insecureRegistries: readonly string[] = []): string[] {
  const host = registry === "docker.io" ? "registry-1.docker.io" : registry;
  const scheme = insecureRegistries.includes(registry) ? "http" : "https";
  const own = `${scheme}://${host}`;
  const list = (mirrors[registry] ?? []).map((url) => url.replace(/\/+$/, "").replace(/\/v2$/, ""));
  return [...new Set([...list, own])];
}

/** Errors after which the next endpoint (the registry after its mirror) is worth a try. */
const retryOnNext = new Set(["registry_unreachable", "image_not_found", "registry_rate_limited", "registry_unauthorized"]);

export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  // Resolved on the first challenge only: a public image needs no cloud token exchange.
  let resolved: Promise<BasicCredentials | undefined> | undefined;
  const credentials = () => {
    resolved ??= resolveRegistryCredentials(options.credentials, { fetch: doFetch });
    return resolved;
  };
  const who =
    options.credentials === undefined
      ? ""
      : ` to ${options.credentials.type === "registry" ? options.credentials.username : `these ${options.credentials.type.toUpperCase()} credentials`}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const endpoints = registryEndpoints(options.registry, options.mirrors, options.insecureRegistries);
  const scope = `repository:${options.repository}:pull`;
  /** Authorization header per endpoint, once a challenge was answered. */
  const authorization = new Map<string, string>();
  const name = `${options.registry}/${options.repository}`;

  async function send(url: string, headers: Record<string, string>): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException("timed out", "TimeoutError")), timeoutMs);
    try {
      return await doFetch(url, { headers, redirect: "follow", signal: controller.signal });
    } catch (err) {
      throw new BuilderError("registry_unreachable", `cannot reach ${new URL(url).host}: ${describeFetchError(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async function request(endpoint: string, path: string, accept: string, what: string): Promise<Response> {
    const host = new URL(endpoint).host;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept };
      const auth = authorization.get(endpoint);
      if (auth !== undefined) headers.authorization = auth;
      const response = await send(`${endpoint}/v2/${options.repository}/${path}`, headers);
      if (response.status === 401 && attempt === 0) {
        await response.body?.cancel();
        const challenges = parseWwwAuthenticate(response.headers.get("www-authenticate") ?? "");
        const bearer = challenges.find((c) => c.scheme === "bearer");
        const basic = challenges.find((c) => c.scheme === "basic");
        if (bearer !== undefined) {
          const token = await fetchBearerToken({ challenge: bearer, scope, credentials: await credentials(), fetch: doFetch });
          authorization.set(endpoint, `Bearer ${token}`);
          continue;
        }
        const basicCredentials = basic !== undefined ? await credentials() : undefined;
        if (basicCredentials !== undefined) {
          authorization.set(endpoint, basicAuthorization(basicCredentials));
          continue;
        }
        throw new BuilderError("registry_unauthorized", `${host} requires credentials to pull ${name}`);
      }
      if (response.ok) return response;
      const detail = await errorDetail(response);
      if (response.status === 401 || response.status === 403) {
        throw new BuilderError(
          "registry_unauthorized",
          `${host} refused to serve ${name}${who} (pull access denied, or the repository does not exist)${detail}`,
        );
      }
      if (response.status === 404) throw new BuilderError("image_not_found", `${what} not found in ${name} at ${host}${detail}`);
      if (response.status === 429)
        throw new BuilderError("registry_rate_limited", `${host} is rate limiting pulls of ${name}; try again later or configure a mirror${detail}`);
      throw new BuilderError("registry_unreachable", `${host} answered HTTP ${response.status} for ${what} of ${name}${detail}`);
    }
  }

  /** Tries each endpoint in turn; the last one's error is the one reported. */
  async function withEndpoints(path: string, accept: string, what: string): Promise<Response> {
    let lastError: unknown;
    for (const [i, endpoint] of endpoints.entries()) {
      try {
        return await request(endpoint, path, accept, what);
      } catch (err) {
        lastError = err;
        const last = i === endpoints.length - 1;
        if (last || !(err instanceof BuilderError) || !retryOnNext.has(err.code)) throw err;
        options.logger?.warn({ endpoint, code: err.code, err: err.message }, "registry mirror failed; trying the next endpoint");
      }
    }
    throw lastError;
  }

  return {
    async getManifest(reference, accept) {
      const response = await withEndpoints(`manifests/${reference}`, accept.join(", "), `manifest ${reference}`);
      const chunks: Uint8Array[] = [];
      let total = 0;
      for await (const chunk of streamBody(response, timeoutMs, `manifest ${reference}`)) {
        total += chunk.length;
        if (total > maxManifestBytes) throw new BuilderError("invalid_image", `manifest ${reference} of ${name} is larger than ${maxManifestBytes >> 20} MiB`);
        chunks.push(chunk);
      }
      const bytes = Buffer.concat(chunks);
      const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
      return { bytes, mediaType };
    },
    async getBlob(digest) {
      const response = await withEndpoints(`blobs/${digest}`, "*/*", `blob ${digest}`);
      const length = Number(response.headers.get("content-length") ?? Number.NaN);
      return { body: streamBody(response, timeoutMs, `blob ${digest}`), size: Number.isFinite(length) ? length : undefined };
    },
  };
}

/** Docker's own limit for manifests. */
const maxManifestBytes = 4 << 20;

/** A response body that fails as `registry_unreachable` when no data comes for `idleMs`: a stalled server must not hang a build. */
async function* streamBody(response: Response, idleMs: number, what: string): AsyncGenerator<Uint8Array> {
  if (response.body === null) return;
  const host = new URL(response.url || "http://registry").host;
  const reader = response.body.getReader();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new BuilderError("registry_unreachable", `${what} from ${host} stalled: no data for ${idleMs / 1000} s`)), idleMs);
      });
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await Promise.race([reader.read(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      if (result.done) return;
      yield result.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** The registry's own error code and message (`{"errors":[{"code":"MANIFEST_UNKNOWN",…}]}`), if it sent one. */
async function errorDetail(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    if (first && typeof first.code === "string") return `: ${first.code}${typeof first.message === "string" ? ` ${first.message}` : ""}`;
  } catch {}
  return "";
}
