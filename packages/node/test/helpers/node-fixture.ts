// Test fixtures: a real node (real crun sandboxes, netns, nftables, overlay
// mounts) in this process, and the official e2b SDK connected to a sandbox's
// envd through a tiny stand-in for the control-plane API. The api package
// does not exist yet, so that stand-in (which only answers the SDK's connect
// call with the sandbox's id and token) is the one mock here.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { Sandbox } from "e2b";
import { buildBaseTemplate } from "../../src/templates/base-template.js";
import { loadNodeConfig, type NodeConfig } from "../../src/config.js";
import { startNode, type RunningNode } from "../../src/node.js";
import { silentLogger } from "../../src/sandbox/logger.js";
import type { SandboxInfo } from "../../src/sandbox/types.js";
import { removeDataDir } from "../../../../test/support/data-dirs.js";
import { startStandInApi } from "../../../../test/support/stand-in-api.js";

/** Where the base template is built once and reused by every suite and CI run on this machine. */
export const testTemplatesRoot = process.env.COVE_TEST_DATA_DIR ?? "/var/tmp/cove-test";
export const envdRuntimeDir = join(import.meta.dirname, "../../../envd/build/runtime");

export function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (namespaces, mounts, cgroups, nftables)";
  return undefined;
}

export async function ensureBaseTemplate(): Promise<void> {
  await buildBaseTemplate({ dataDir: testTemplatesRoot });
}

export interface TestNodeOptions {
  /** Network prefix (≤ 6 chars) and pool, unique per suite so suites never collide. */
  prefix: string;
  cidr: string;
  poolSize?: number;
  allowedCidrs?: string[];
  runtime?: "crun" | "runc";
  dataDir?: string;
  env?: Record<string, string>;
}

export interface TestNode {
  node: RunningNode;
  config: NodeConfig;
  dataDir: string;
  /** Kills every sandbox, removes host state and the data dir. */
  close(): Promise<void>;
}

export function testNodeConfig(options: TestNodeOptions, dataDir: string): NodeConfig {
  return loadNodeConfig(
    { dataDir, listen: "127.0.0.1:0", poolSize: options.poolSize ?? 0, runtime: options.runtime, logLevel: "silent" },
    {
      COVE_TEMPLATES_DIR: join(testTemplatesRoot, "templates"),
      COVE_NETWORK_PREFIX: options.prefix,
      COVE_SANDBOX_CIDR: options.cidr,
      COVE_SANDBOX_ALLOW_CIDRS: (options.allowedCidrs ?? []).join(","),
      // No traffic leaves this machine in tests; the resolver address is never used.
      COVE_SANDBOX_DNS: "127.0.0.1",
      COVE_NODE_SECRET: "test-secret",
      ...options.env,
    },
    { envdRuntimeDir },
  );
}

export async function startTestNode(options: TestNodeOptions): Promise<TestNode> {
  await ensureBaseTemplate();
  const dataDir = options.dataDir ?? mkdtempSync("/var/tmp/cove-node-test-");
  const config = testNodeConfig(options, dataDir);
  const node = await startNode(config, silentLogger);
  return {
    node,
    config,
    dataDir,
    async close() {
      await node.close({ killAll: true });
      await removeDataDir(dataDir);
    },
  };
}

export interface SdkConnection {
  sandbox: Sandbox;
  close(): Promise<void>;
}

/** Connects the official SDK to a sandbox's envd, as the api will (id, token, envd version). */
export async function connectSdk(info: SandboxInfo, accessToken?: string): Promise<SdkConnection> {
  const api = await startStandInApi({ sandboxID: info.sandboxId, templateID: info.templateId, accessToken, envdVersion: info.envdVersion });
  const sandbox = await Sandbox.connect(info.sandboxId, { apiKey: "test-key", apiUrl: api.url, sandboxUrl: `http://${info.envdAddress}` }).catch(
    async (err: unknown) => {
      await api.close();
      throw err;
    },
  );
  return { sandbox, close: () => api.close() };
}

export interface CommandOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a command through the SDK; a non-zero exit is an outcome, not an error. */
export async function runCommand(
  sandbox: Sandbox,
  cmd: string,
  { user = "root", timeoutMs = 60_000 }: { user?: "root" | "user"; timeoutMs?: number } = {},
): Promise<CommandOutcome> {
  try {
    const r = await sandbox.commands.run(cmd, { user, timeoutMs });
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { exitCode?: number; stdout?: string; stderr?: string };
    if (e.exitCode === undefined) throw err;
    return { exitCode: e.exitCode, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}
