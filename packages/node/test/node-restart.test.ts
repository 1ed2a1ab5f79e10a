// `cove node` as its own process: kill -9 it with sandboxes running, start a
// new one on the same data dir, and check it re-adopts them (commands still
// work) and cleans up what was half-created.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { createNodeClient, type NodeClient } from "@cove/protocol/nodeapi-client";
import { connectSdk, ensureBaseTemplate, envdRuntimeDir, skipReason, testTemplatesRoot } from "./helpers/node-fixture.js";
import type { SandboxInfo } from "../src/sandbox/types.js";
import { suiteNetwork } from "../../../test/support/networks.js";
import { removeDataDir } from "../../../test/support/data-dirs.js";

const reason = skipReason();
if (reason) console.log(`# node-restart: skipped: ${reason}`);

const cli = join(import.meta.dirname, "../../cli/bin/cove.js");
const secret = "restart-test-secret";

interface NodeProcess {
  child: ChildProcess;
  client: NodeClient;
  lines: string[];
}

/** Starts `cove node` and resolves once it prints "ready", with a client for its API. */
async function startNodeProcess(dataDir: string, extraArgs: string[] = []): Promise<NodeProcess> {
  const child = spawn(process.execPath, [cli, "node", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--pool-size", "0", ...extraArgs], {
    env: {
      ...process.env,
      COVE_TEMPLATES_DIR: join(testTemplatesRoot, "templates"),
      COVE_NETWORK_PREFIX: suiteNetwork("node/node-restart").prefix,
      COVE_SANDBOX_CIDR: suiteNetwork("node/node-restart").cidr,
      COVE_SANDBOX_DNS: "127.0.0.1",
      COVE_NODE_SECRET: secret,
      COVE_ENVD_RUNTIME: envdRuntimeDir,
      COVE_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let address: string | undefined;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push(line);
      const match = /node API on (http:\/\/\S+)/.exec(line);
      if (match) address = match[1];
      if (line.endsWith("ready") && address) resolve(address);
    });
    child.once("exit", (code) => reject(new Error(`cove node exited (${code}) before ready:\n${lines.join("\n")}\n${stderr}`)));
  });
  return { child, client: createNodeClient({ baseUrl: url, secret }), lines };
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once("exit", () => resolve()));
}

describe("node restart", { skip: reason, timeout: 600_000 }, () => {
  let dataDir: string;
  let current: NodeProcess | undefined;

  before(async () => {
    await ensureBaseTemplate();
    dataDir = mkdtempSync("/var/tmp/cove-restart-test-");
  });

  after(async () => {
    // Whatever happened, a node with --kill-on-exit removes every sandbox and its host state.
    if (current && current.child.exitCode === null) {
      current.child.kill("SIGKILL");
      await exited(current.child);
    }
    const cleaner = await startNodeProcess(dataDir, ["--kill-on-exit"]).catch(() => undefined);
    if (cleaner) {
      cleaner.child.kill("SIGTERM");
      await exited(cleaner.child);
    }
    await removeDataDir(dataDir);
  });

  it("re-adopts 3 running sandboxes after kill -9, and removes a half-created one", async () => {
    current = await startNodeProcess(dataDir);
    assert.ok(
      current.lines.some((l) => /runtime (crun|runc) /.test(l)),
      `prints the runtime: ${current.lines.join("\n")}`,
    );
    const created = await Promise.all(
      [1, 2, 3].map(async (n) => (await current!.client.createSandbox({ templateId: "base", timeoutMs: 300_000, metadata: { n: String(n) } })).sandbox!),
    );
    const ids = created.map((s) => s.sandboxId).sort();
    // Leave a state file behind in a background process inside one sandbox, to check it is the same sandbox after the restart.
    const first = await sdkFor(current.client, ids[0]!);
    await first.sandbox.commands.run("sleep 100000", { background: true });
    await first.sandbox.files.write("/tmp/before-restart", "still here");
    await first.close();

    current.child.kill("SIGKILL");
    await exited(current.child);

    // A sandbox that was being created when the node died: a record in "starting" and no container.
    const halfId = "halfcreated000000001";
    mkdirSync(join(dataDir, "sandboxes", halfId), { recursive: true });
    writeFileSync(join(dataDir, "sandboxes", halfId, "sandbox.json"), JSON.stringify({ sandboxId: halfId, templateId: "base", state: "starting" }));

    current = await startNodeProcess(dataDir);
    assert.ok(
      current.lines.some((l) => /re-adopted 3 sandbox/.test(l)),
      current.lines.join("\n"),
    );
    const listed = (await current.client.listSandboxes({})).sandboxes.map((s) => s.sandboxId).sort();
    assert.deepEqual(listed, ids);
    assert.ok(!existsSync(join(dataDir, "sandboxes", halfId)), "the half-created sandbox's files are gone");

    for (const id of ids) {
      const sdk = await sdkFor(current.client, id);
      try {
        const r = await sdk.sandbox.commands.run("hostname");
        assert.equal(r.stdout.trim(), id);
      } finally {
        await sdk.close();
      }
    }
    const again = await sdkFor(current.client, ids[0]!);
    try {
      assert.equal(await again.sandbox.files.read("/tmp/before-restart"), "still here");
      const ps = await again.sandbox.commands.run("ps -eo args");
      assert.match(ps.stdout, /sleep 100000/, "processes survived the node's death");
    } finally {
      await again.close();
    }

    for (const id of ids) await current.client.killSandbox({ sandboxId: id });
    assert.equal((await current.client.listSandboxes({})).sandboxes.length, 0);
    current.child.kill("SIGTERM");
    await exited(current.child);
    assert.equal(current.child.exitCode, 0, "SIGTERM is a clean exit");
  });
});

async function sdkFor(client: NodeClient, sandboxId: string) {
  const s = (await client.getSandbox({ sandboxId })).sandbox!;
  const info = { sandboxId: s.sandboxId, templateId: s.templateId, envdVersion: s.envdVersion, envdAddress: s.envdAddress } as SandboxInfo;
  return connectSdk(info);
}
