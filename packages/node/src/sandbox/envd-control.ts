import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { EnvdInitBody } from "@cove/protocol/envd";
import { NodeError } from "../errors.js";

/** The body of envd's POST /init (spec 5.6). */
export type EnvdInit = EnvdInitBody;

/** How the node talks to a sandbox's envd. */
export interface EnvdControl {
  /** Resolves once GET /health answers 2xx; rejects after `timeoutMs`. */
  waitReady(address: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  init(address: string, body: EnvdInit, accessToken?: string): Promise<void>;
  /** Makes one cheap Connect RPC so the first real one does not pay envd's lazy loading. */
  warm(address: string): Promise<void>;
}

interface Reply {
  status: number;
  body: string;
}

function call(address: string, method: string, path: string, timeoutMs: number, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const [host, port] = splitAddress(address);
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, agent: false, timeout: timeoutMs, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

export function createEnvdControl(options: { pollIntervalMs?: number } = {}): EnvdControl {
  const pollIntervalMs = options.pollIntervalMs ?? 5;
  return {
    async waitReady(address, timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      let last = "no attempt";
      while (Date.now() < deadline) {
        if (signal?.aborted) throw new NodeError("unavailable", "stopped waiting for envd");
        try {
          // A short per-attempt timeout: a connection accepted but never
          // answered must not eat the whole budget.
          const reply = await call(address, "GET", "/health", Math.min(1000, Math.max(50, deadline - Date.now())));
          if (reply.status >= 200 && reply.status < 300) return;
          last = `HTTP ${reply.status}`;
        } catch (err) {
          last = err instanceof Error ? err.message : String(err);
        }
        await sleep(pollIntervalMs);
      }
      throw new NodeError("runtime_failed", `envd at ${address} did not become ready within ${timeoutMs} ms (last: ${last})`);
    },

    async warm(address) {
      await call(address, "POST", "/process.Process/List", 5000, "{}", { "content-type": "application/json" });
      // One real process as the default user: the spawn path, the login shell and its files are
      // then warm, so the first command a user runs costs what later ones do.
      const message = Buffer.from(JSON.stringify({ process: { cmd: "/bin/bash", args: ["-l", "-c", "true"] }, stdin: false }));
      const envelope = Buffer.alloc(5 + message.length);
      envelope.writeUInt32BE(message.length, 1);
      message.copy(envelope, 5);
      await call(address, "POST", "/process.Process/Start", 5000, envelope, {
        "content-type": "application/connect+json",
        "content-length": String(envelope.length),
      });
    },

    async init(address, body, accessToken) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (accessToken) headers["x-access-token"] = accessToken;
      const reply = await call(address, "POST", "/init", 10_000, JSON.stringify(body), headers);
      if (reply.status !== 204 && reply.status !== 200) {
        throw new NodeError("runtime_failed", `envd /init answered ${reply.status}: ${reply.body.slice(0, 500)}`);
      }
    },
  };
}
