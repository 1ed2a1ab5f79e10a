import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Process, Signal } from "@cove/protocol/process";
import { ApiError } from "../errors.js";
import type { EnvdMetricsBody } from "@cove/protocol/envd";

export interface ExecRequest {
  /** Run by `/bin/bash -l -c`, as the SDK does. */
  cmd: string;
  cwd?: string;
  envs?: Record<string, string>;
  user?: string;
  /** Killed after this long (ms); 0 means no limit. */
  timeoutMs: number;
  /** Sent once the process starts, then stdin is closed. */
  stdin?: Uint8Array;
  /** Keep stdin open for sendStdin (streaming callers); ignored when `stdin` is given. */
  openStdin?: boolean;
}

export interface ExecEvents {
  onStart?(pid: number): void;
  onStdout?(data: Uint8Array): void;
  onStderr?(data: Uint8Array): void;
}

export interface ExecResult {
  pid: number;
  exitCode: number;
  /** envd's error text, e.g. a signal. */
  error?: string;
}

/** What envd's GET /metrics answers; the wire type lives with envd's other wire facts. */
export type EnvdMetrics = EnvdMetricsBody;

/** A connection to one sandbox's envd, for the native API (the SDK talks to envd itself). */
export interface EnvdSession {
  exec(req: ExecRequest, events: ExecEvents, signal?: AbortSignal): Promise<ExecResult>;
  sendStdin(pid: number, data: Uint8Array): Promise<void>;
  closeStdin(pid: number): Promise<void>;
  kill(pid: number, signal: "SIGTERM" | "SIGKILL"): Promise<void>;
  readFile(path: string, user?: string): Promise<Response>;
  /** GET /metrics (spec 5.5), in envd's snake_case. */
  metrics(): Promise<EnvdMetrics>;
  writeFile(path: string, data: AsyncIterable<Uint8Array> | Uint8Array, user?: string): Promise<unknown>;
}

export function connectEnvd(address: string, accessToken: string | null): EnvdSession {
  const baseUrl = `http://${address}`;
  const tokenHeader: Record<string, string> = accessToken ? { "x-access-token": accessToken } : {};
  const transport = createConnectTransport({
    baseUrl,
    httpVersion: "1.1",
    interceptors: [
      (next) => (req) => {
        if (accessToken) req.header.set("x-access-token", accessToken);
        return next(req);
      },
    ],
  });
  const client: Client<typeof Process> = createClient(Process, transport);
  const userHeader = (user?: string): Record<string, string> => (user ? { authorization: `Basic ${Buffer.from(`${user}:`).toString("base64")}` } : {});

  function filesUrl(path: string, user?: string): string {
    const q = new URLSearchParams({ path });
    if (user) q.set("username", user);
    return `${baseUrl}/files?${q}`;
  }

  return {
    async exec(req, events, signal) {
      const stream = client.start(
        {
          process: { cmd: "/bin/bash", args: ["-l", "-c", req.cmd], envs: req.envs ?? {}, ...(req.cwd ? { cwd: req.cwd } : {}) },
          stdin: req.stdin !== undefined || req.openStdin === true,
        },
        { headers: userHeader(req.user), ...(req.timeoutMs > 0 ? { timeoutMs: req.timeoutMs } : {}), ...(signal ? { signal } : {}) },
      );
      let pid = 0;
      for await (const { event } of stream) {
        const e = event?.event;
        if (e?.case === "start") {
          pid = e.value.pid;
          events.onStart?.(pid);
          if (req.stdin !== undefined) {
            try {
              if (req.stdin.length > 0)
                await client.sendInput({ process: { selector: { case: "pid", value: pid } }, input: { input: { case: "stdin", value: req.stdin } } });
              await client.closeStdin({ process: { selector: { case: "pid", value: pid } } });
            } catch (err) {
              // A command that exits before reading its input (`true`) is gone by the time it is
              // sent: not a failure of the exec, whose output and exit still arrive on the stream.
              if (!(err instanceof ConnectError && err.code === Code.NotFound)) throw err;
            }
          }
        } else if (e?.case === "data") {
          const out = e.value.output;
          if (out.case === "stdout") events.onStdout?.(out.value);
          else if (out.case === "stderr") events.onStderr?.(out.value);
        } else if (e?.case === "end") {
          // envd words a plain non-zero exit as an error too; the exit code already says it.
          const error = e.value.error && !/^exit status \d+$/.test(e.value.error) ? e.value.error : undefined;
          return { pid, exitCode: e.value.exitCode, ...(error ? { error } : {}) };
        }
      }
      throw new ApiError("unavailable", "the process stream ended without an exit code");
    },
    async sendStdin(pid, data) {
      await client.sendInput({ process: { selector: { case: "pid", value: pid } }, input: { input: { case: "stdin", value: data } } });
    },
    async closeStdin(pid) {
      await client.closeStdin({ process: { selector: { case: "pid", value: pid } } });
    },
    async kill(pid, sig) {
      await client.sendSignal({ process: { selector: { case: "pid", value: pid } }, signal: sig === "SIGKILL" ? Signal.SIGKILL : Signal.SIGTERM });
    },
    readFile: (path, user) => fetch(filesUrl(path, user), { headers: tokenHeader }),
    async metrics() {
      const res = await fetch(`${baseUrl}/metrics`, { headers: tokenHeader, signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new ApiError("unavailable", `sandbox metrics unavailable (envd answered ${res.status})`);
      return (await res.json()) as EnvdMetrics;
    },
    async writeFile(path, data, user) {
      const res = await fetch(filesUrl(path, user), {
        method: "POST",
        headers: { ...tokenHeader, "content-type": "application/octet-stream" },
        body: data as BodyInit,
        duplex: "half",
      } as RequestInit);
      const text = await res.text();
      if (!res.ok) throw envdFileError(res.status, text, path);
      return text === "" ? undefined : JSON.parse(text);
    },
  };
}

/** envd's file errors as api errors (its bodies are `{code, message}`). */
export function envdFileError(status: number, text: string, path: string): ApiError {
  let message = text;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    // not JSON: keep the text
  }
  if (status === 404) return new ApiError("not_found", `file '${path}' not found`);
  if (status === 400) return new ApiError("invalid_argument", message || "bad file request");
  // envd answers an unknown user 401 as E2B's does; to the native API's caller it is a bad argument.
  if (status === 401 && message.startsWith("invalid username")) return new ApiError("invalid_argument", message);
  if (status === 401 || status === 403) return new ApiError("forbidden", message || "not allowed");
  if (status === 507) return new ApiError("storage_full", message || "sandbox disk is full");
  return new ApiError("unavailable", `envd answered ${status}: ${message}`);
}
