import { timingSafeEqual } from "node:crypto";
import { Agent, request } from "node:http";
import { InterpreterError } from "./errors.js";

/** Who may run code, and the sandbox-wide env vars the code runs with. */
export interface EnvdAccess {
  /**
   * Checks the caller's X-Access-Token and returns the sandbox's env vars (Sandbox.create's
   * `envs`). Throws `unauthenticated` for a token the sandbox did not issue.
   */
  check(token: string | undefined): Promise<Record<string, string>>;
}

export interface EnvdAccessOptions {
  /** envd's address inside the sandbox (http://127.0.0.1:49983): it checks the token and knows the env. */
  envdUrl: string | undefined;
  /** A fixed token to compare with, when there is no envd to ask (a standalone server). */
  accessToken: string | undefined;
  /** Default 5 s. */
  timeoutMs?: number;
}

/**
 * E2B's execution server forwards the caller's X-Access-Token to envd's `GET /envs`; so does
 * this one. The server starts with the sandbox, before envd has a token (a pooled sandbox gets
 * one only when it is handed out), so the token cannot be passed in at start: envd is the one
 * that knows it, then and after a resume. The answer doubles as the sandbox's env vars.
 */
export function createEnvdAccess(options: EnvdAccessOptions): EnvdAccess {
  const { envdUrl, accessToken } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  if (envdUrl === undefined) {
    return {
      async check(token) {
        if (accessToken !== undefined && !sameToken(token ?? "", accessToken)) {
          throw new InterpreterError("unauthenticated", "invalid or missing access token");
        }
        return {};
      },
    };
  }
  const url = new URL("/envs", envdUrl);
  // node:http, not fetch: the server already loaded it, while fetch's first call loads undici
  // (tens of milliseconds on a sandbox's first runCode).
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  return {
    async check(token) {
      const { status, body } = await getText(url, token, agent, timeoutMs).catch((err: unknown) => {
        throw new InterpreterError("unavailable", `cannot reach envd at ${envdUrl} to check the access token`, { cause: err });
      });
      if (status === 401 || status === 403) throw new InterpreterError("unauthenticated", "invalid or missing access token");
      if (status !== 200) throw new InterpreterError("unavailable", `envd answered ${status} to GET /envs`);
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(body);
      } catch {}
      return envRecord(parsed);
    },
  };
}

function getText(url: URL, token: string | undefined, agent: Agent, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: token === undefined ? {} : { "x-access-token": token }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

function envRecord(body: unknown): Record<string, string> {
  const env: Record<string, string> = {};
  if (body === null || typeof body !== "object" || Array.isArray(body)) return env;
  for (const [name, value] of Object.entries(body)) if (typeof value === "string") env[name] = value;
  return env;
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
