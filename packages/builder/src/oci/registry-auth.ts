import { BuilderError } from "../errors.js";

/** One challenge from a `WWW-Authenticate` header: the scheme (lowercased) and its parameters. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** Username and password for a registry (Docker's `auths` entry, the SDK's `fromImageRegistry`). */
export interface BasicCredentials {
  username: string;
  password: string;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/**
 * Parses `WWW-Authenticate` into its challenges (RFC 9110 §11.6.1): `Bearer realm="…",
 * service="…",scope="…"` or `Basic realm="…"`. Quoted values keep their commas; a value's
 * backslash escapes are undone. Unparsable text ends the list rather than throwing: the
 * caller then reports the 401 it got.
 */
export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const skip = (chars: string) => {
    while (i < header.length && chars.includes(header[i]!)) i++;
  };
  while (i < header.length) {
    skip(" ,\t");
    const scheme = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(header.slice(i))?.[0];
    if (scheme === undefined) break;
    i += scheme.length;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skip(" \t");
    // A token68 (`Basic abc==`) instead of parameters: skip it, it carries nothing we need.
    const t68 = /^[A-Za-z0-9._~+/-]+=*\s*(?=,|$)/.exec(header.slice(i))?.[0];
    if (t68 !== undefined) {
      i += t68.length;
      continue;
    }
    for (;;) {
      skip(" \t");
      const m = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*/.exec(header.slice(i));
      if (m === null) break;
      i += m[0].length;
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < header.length) i++;
          value += header[i];
          i++;
        }
        i++;
      } else {
        const v = /^[^,\s]*/.exec(header.slice(i))![0];
        value = v;
        i += v.length;
      }
      challenge.params[m[1]!.toLowerCase()] = value;
      skip(" \t");
      if (header[i] !== ",") break;
      // A comma either separates parameters or starts the next challenge: look past it.
      const save = i;
      i++;
      skip(" ,\t");
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=/.test(header.slice(i))) {
        i = save;
        break;
      }
    }
  }
  return challenges;
}

export function basicAuthorization(credentials: BasicCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
}

/**
 * Fetches a bearer token from the challenge's realm (Docker's token protocol: GET with
 * `service` and `scope`, Basic auth when credentials are given; the answer has `token` or
 * `access_token`). Anonymous requests get the registry's public pull token.
 */
export async function fetchBearerToken(options: {
  challenge: AuthChallenge;
  scope: string;
  credentials: BasicCredentials | undefined;
  fetch: FetchLike;
  signal?: AbortSignal;
}): Promise<string> {
  const { challenge, credentials } = options;
  const realm = challenge.params.realm;
  if (realm === undefined) throw new BuilderError("registry_unauthorized", "the registry asked for a bearer token but named no realm");
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new BuilderError("registry_unauthorized", `the registry's token realm "${realm}" is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new BuilderError("registry_unauthorized", `the token realm "${realm}" is not http(s)`);
  if (challenge.params.service !== undefined) url.searchParams.set("service", challenge.params.service);
  url.searchParams.set("scope", challenge.params.scope ?? options.scope);
  const headers: Record<string, string> = { accept: "application/json" };
  if (credentials !== undefined) headers.authorization = basicAuthorization(credentials);
  let response: Response;
  try {
    response = await options.fetch(url.toString(), { headers, ...(options.signal && { signal: options.signal }) });
  } catch (err) {
    throw new BuilderError("registry_unreachable", `cannot reach the token service at ${url.host}: ${describeFetchError(err)}`, { cause: err });
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new BuilderError(
      "registry_unauthorized",
      `the token service at ${url.host} refused ${credentials ? `the credentials of ${credentials.username}` : "an anonymous pull"}`,
    );
  }
  if (response.status === 429) {
    await response.body?.cancel();
    throw new BuilderError("registry_rate_limited", `the token service at ${url.host} is rate limiting pulls; try again later or configure a mirror`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new BuilderError("registry_unreachable", `the token service at ${url.host} answered HTTP ${response.status}`);
  }
  const body = (await response.json().catch(() => null)) as { token?: unknown; access_token?: unknown } | null;
  const token = typeof body?.token === "string" ? body.token : typeof body?.access_token === "string" ? body.access_token : undefined;
  if (token === undefined || token === "") throw new BuilderError("registry_unauthorized", `the token service at ${url.host} returned no token`);
  return token;
}

/** The innermost cause of a failed fetch, e.g. `ECONNREFUSED`, `ENOTFOUND`, a TLS error. */
export function describeFetchError(err: unknown): string {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e instanceof Error && e.cause !== undefined; depth++) e = e.cause;
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (e.name === "TimeoutError" || e.name === "AbortError") return "timed out";
    return typeof code === "string" ? `${code} (${e.message})` : e.message;
  }
  return String(e);
}
