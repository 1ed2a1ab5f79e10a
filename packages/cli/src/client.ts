import type { Command } from "commander";
import { AuthenticationError, CommandExitError, NotFoundError, RateLimitError, SandboxError, TimeoutError, type ConnectionOpts } from "e2b";

/** Where the client commands find a Cove server and which key they use. */
export interface ClientConfig {
  apiUrl: string;
  /** The sandbox gateway; `cove up` serves it on the API's port. */
  sandboxUrl: string;
  apiKey: string;
  /** Named in errors so the user knows which setting to fix. */
  apiKeySource: "E2B_API_KEY" | "--api-key";
}

export interface ConnectionFlags {
  apiUrl?: string;
  apiKey?: string;
}

/** `cove up`'s default address. */
const DEFAULT_API_URL = "http://127.0.0.1:3000";

/** Flags > env > defaults. The key has no default: without one nothing would work. */
export function loadClientConfig(flags: ConnectionFlags, env: NodeJS.ProcessEnv): ClientConfig {
  const apiUrl = trimSlash(flags.apiUrl ?? nonEmpty(env.E2B_API_URL) ?? DEFAULT_API_URL);
  const sandboxUrl = trimSlash(nonEmpty(env.E2B_SANDBOX_URL) ?? apiUrl);
  for (const [name, url] of [
    ["API", apiUrl],
    ["sandbox", sandboxUrl],
  ] as const) {
    if (!URL.canParse(url)) throw new Error(`invalid ${name} URL '${url}'`);
  }
  const apiKey = flags.apiKey ?? nonEmpty(env.E2B_API_KEY);
  if (apiKey === undefined) throw new Error("no API key: set E2B_API_KEY (cove up prints it)");
  return { apiUrl, sandboxUrl, apiKey, apiKeySource: flags.apiKey !== undefined ? "--api-key" : "E2B_API_KEY" };
}

/** Adds --api-url and --api-key to a command that talks to the server. */
export function withConnectionOptions(command: Command): Command {
  return command.option("--api-url <url>", `Cove API URL (env E2B_API_URL; default ${DEFAULT_API_URL})`).option("--api-key <key>", "API key (env E2B_API_KEY)");
}

/** Connection options for the e2b SDK; explicit, so the SDK's own env lookups never disagree with ours. */
export function sdkOptions(config: ClientConfig): ConnectionOpts {
  // An empty logger: the SDK's CI diagnostics would otherwise print request lines to stderr.
  return { apiUrl: config.apiUrl, sandboxUrl: config.sandboxUrl, apiKey: config.apiKey, logger: {} };
}

/** Runs an SDK or API call and turns what it throws into one line a user can act on. */
export async function callApi<T>(config: ClientConfig, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw describeApiError(err, config);
  }
}

export function describeApiError(err: unknown, config: ClientConfig): Error {
  if (err instanceof CommandExitError) return err;
  if (err instanceof AuthenticationError) return new Error(`invalid API key (${config.apiKeySource})`);
  if (err instanceof RateLimitError) return new Error(afterDash(err.message) ?? "rate limited: try again later");
  if (err instanceof TimeoutError) return new Error(`timed out: ${err.message.split(": This error is likely")[0]}`);
  if (err instanceof NotFoundError || err instanceof SandboxError) return new Error(stripStatus(afterDash(err.message) ?? err.message));
  const unreachable = connectionFailure(err);
  if (unreachable !== undefined) return new Error(`cannot reach the Cove API at ${config.apiUrl} (${unreachable}); is \`cove up\` running?`);
  return err instanceof Error ? err : new Error(String(err));
}

/** The native `/v1` API, for what the SDK does not cover (keys, templates). */
export interface NativeClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  delete(path: string): Promise<void>;
}

export function createNativeClient(config: ClientConfig, fetchImpl: typeof fetch = fetch): NativeClient {
  const send = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const headers: Record<string, string> = { "x-api-key": config.apiKey, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await callApi(config, () =>
      fetchImpl(`${config.apiUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) }),
    );
    if (res.ok) return res;
    if (res.status === 401) throw new Error(`invalid API key (${config.apiKeySource})`);
    throw new Error(await errorMessage(res));
  };
  return {
    get: async <T>(path: string) => (await (await send("GET", path)).json()) as T,
    post: async <T>(path: string, body: unknown) => (await (await send("POST", path, body)).json()) as T,
    delete: async (path: string) => {
      await send("DELETE", path);
    },
  };
}

/** The `message` of a `{"error": {"code", "message"}}` body, else the HTTP status. */
async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof parsed.error?.message === "string") return parsed.error.message;
  } catch {
    // Not JSON: a proxy in between, or not a Cove server.
  }
  return `the API answered ${res.status} ${res.statusText}`.trim();
}

/** `fetch failed` hides the reason in its cause (ECONNREFUSED, ENOTFOUND...). */
function connectionFailure(err: unknown): string | undefined {
  if (!(err instanceof TypeError) || err.message !== "fetch failed") return undefined;
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof cause?.code === "string") return cause.code;
  return typeof cause?.message === "string" ? cause.message : "fetch failed";
}

/** The SDK prefixes the server's message: "Rate limit exceeded, please try again later - <server message>". */
function afterDash(message: string): string | undefined {
  const at = message.indexOf(" - ");
  return at >= 0 ? message.slice(at + 3) : undefined;
}

/** The SDK renders other API errors as "<status>: <server message>". */
function stripStatus(message: string): string {
  return message.replace(/^\d{3}: /, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}
