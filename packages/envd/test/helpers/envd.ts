// Test fixtures: a real envd server on a loopback port, driven by the official
// e2b SDK. The control-plane API does not exist in this package, so a tiny
// stand-in answers the SDK's create/connect/kill calls with this envd's
// address and access token (the only mock here, and only of that API).
import { execFileSync } from "node:child_process";
import { Sandbox } from "e2b";
import { startStandInApi } from "../../../../test/support/stand-in-api.js";
import { createEnvdServer, loadConfig, type EnvdFlags, type EnvdServer } from "../../src/index.js";

export interface TestEnvd {
  url: string;
  port: number;
  server: EnvdServer;
  close(): Promise<void>;
}

/** Starts envd in this process on a free loopback port. */
export async function startEnvd(flags: EnvdFlags = {}): Promise<TestEnvd> {
  const config = loadConfig({ host: "127.0.0.1", port: 0, logLevel: "silent", ...flags }, {});
  const server = createEnvdServer(config);
  const address = await server.listen();
  const url = `http://127.0.0.1:${address.port}`;
  return { url, port: address.port, server, close: () => server.close() };
}

export interface SdkHandle {
  sandbox: Sandbox;
  accessToken: string | undefined;
  close(): Promise<void>;
}

/**
 * Connects the official SDK to an envd. With `accessToken`, envd is first
 * initialised through POST /init (as the node does) and the SDK receives the
 * token from the stand-in API, so it signs URLs and sends X-Access-Token.
 */
export async function connectSdk(envd: Pick<TestEnvd, "url">, options: { accessToken?: string; defaultUser?: string } = {}): Promise<SdkHandle> {
  const init: Record<string, unknown> = {};
  if (options.accessToken) init.accessToken = options.accessToken;
  if (options.defaultUser) init.defaultUser = options.defaultUser;
  if (Object.keys(init).length > 0) {
    const res = await fetch(`${envd.url}/init`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(init),
    });
    if (res.status !== 204) throw new Error(`envd /init answered ${res.status}: ${await res.text()}`);
  }
  const api = await startStandInApi({ sandboxID: "envdtest", templateID: "base", accessToken: options.accessToken });
  const sandbox = await Sandbox.create("base", {
    apiKey: "test-key",
    apiUrl: api.url,
    sandboxUrl: envd.url,
  });
  return {
    sandbox,
    accessToken: options.accessToken,
    close: () => api.close(),
  };
}

/** Makes sure the unprivileged `user` (uid 1000, home /home/user) exists, as E2B templates have it. */
export function ensureTestUser(): void {
  try {
    execFileSync("id", ["user"], { stdio: "ignore" });
  } catch {
    try {
      execFileSync("useradd", ["--create-home", "--uid", "1000", "--shell", "/bin/bash", "user"], { stdio: "pipe" });
    } catch {
      // uid 1000 already belongs to someone else on this machine: any free uid will do.
      execFileSync("useradd", ["--create-home", "--shell", "/bin/bash", "user"], { stdio: "inherit" });
    }
  }
}
