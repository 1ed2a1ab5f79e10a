// A sandbox's init (tini, envd) writes its output into a pipe the node reads, not into a host
// file: root inside writing without end to /proc/1/fd/1 fills neither the host's disk nor the
// node's CPU, and the log keeps what matters. Sandboxes here run without a user namespace
// (COVE_SANDBOX_USERNS=off): then root inside is host root, the case where it can reopen pid 1's
// output at all, and where only the mounts stand between it and the host's files.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Sandbox } from "e2b";
import { startNode, type RunningNode } from "../src/node.js";
import { OciCommandError } from "../src/runtime/container/oci-command.js";
import { silentLogger } from "../src/sandbox/logger.js";
import type { SandboxInfo } from "../src/sandbox/types.js";
import { connectSdk, ensureBaseTemplate, runCommand, skipReason, testNodeConfig, type SdkConnection } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason();
if (reason) console.log(`# sandbox-log: skipped: ${reason}`);

const MiB = 1024 * 1024;
const options = { ...suiteNetwork("node/sandbox-log"), env: { COVE_SANDBOX_USERNS: "off" } };

const sh = (sandbox: Sandbox, cmd: string, user: "root" | "user" = "root") => runCommand(sandbox, cmd, { user, timeoutMs: 120_000 });

/** Where this process's own fds point (to find leaked FIFO or log handles). */
function ownFdTargets(): string[] {
  return readdirSync("/proc/self/fd").flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/self/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}

describe("sandbox output", { skip: reason, timeout: 600_000 }, () => {
  let node: RunningNode | undefined;
  let dataDir: string;
  let conn: SdkConnection | undefined;
  let info: SandboxInfo;
  let sandbox: Sandbox;
  const sandboxDir = () => join(dataDir, "sandboxes", info.sandboxId);
  const logFiles = () => readdirSync(sandboxDir()).filter((f) => f.startsWith("envd.log"));
  const logText = () =>
    logFiles()
      .map((f) => readFileSync(join(sandboxDir(), f), "latin1"))
      .join("");

  before(async () => {
    await ensureBaseTemplate();
    dataDir = mkdtempSync("/var/tmp/cove-sandbox-log-");
    node = await startNode(testNodeConfig(options, dataDir), silentLogger);
    info = await node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    conn = await connectSdk(info);
    sandbox = conn.sandbox;
  });

  after(async () => {
    await conn?.close();
    await node?.close({ killAll: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("root inside flooding /proc/1/fd/1 leaves a capped log that still holds envd's start-up line", async () => {
    assert.match(logText(), /listening/, "envd's start-up line is in the log");
    // Without a bound, all 64 MiB land on the host within a second; with one, dd blocks on its
    // own pipe until `timeout` ends it.
    const flood = await sh(sandbox, "timeout 10 dd if=/dev/zero of=/proc/1/fd/1 bs=64k count=1024; echo exit=$?");
    assert.match(flood.stdout, /exit=\d+/, flood.stderr);
    for (const f of logFiles()) {
      const size = statSync(join(sandboxDir(), f)).size;
      assert.ok(size <= MiB, `${f} is ${size} bytes`);
    }
    assert.ok(logFiles().length <= 2, logFiles().join(" "));
    const kept = logFiles().reduce((sum, f) => sum + statSync(join(sandboxDir(), f)).size, 0);
    console.log(`# after the flood: ${kept} bytes in ${logFiles().join(", ")}; dd: ${flood.stderr.trim().split("\n").pop() ?? ""}`);
    assert.match(logText(), /listening/, "the start-up line survived the flood");
    assert.equal((await sh(sandbox, "echo still-here", "user")).stdout.trim(), "still-here");
  });

  it("no fd of the sandbox's init or envd refers to a host file or directory outside its own storage", async () => {
    const init = (await node!.sandboxRuntime.inspect(info.sandboxId))?.pid;
    assert.ok(init, "the sandbox has an init pid");
    const children = readFileSync(`/proc/${init}/task/${init}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
    assert.ok(children.length > 0, "envd runs under tini");
    const rootfsDev = statSync(join(sandboxDir(), "rootfs")).dev;
    const bad: string[] = [];
    for (const pid of [init, ...children]) {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const link = `/proc/${pid}/fd/${fd}`;
        const st = statSync(link, { throwIfNoEntry: false });
        if (!st) continue;
        if ((st.isFile() || st.isDirectory()) && st.dev !== rootfsDev) bad.push(`${pid}:${fd} -> ${readlinkSync(link)}`);
      }
    }
    assert.deepEqual(bad, []);
    for (const fd of [1, 2]) assert.ok(statSync(`/proc/${init}/fd/${fd}`).isFIFO(), `init's fd ${fd} is the output pipe`);
  });

  it("/.cove is read-only for root inside (EROFS)", async () => {
    for (const cmd of ["touch /.cove/envd.js", "echo x > /.cove/new"]) {
      const write = await sh(sandbox, cmd);
      assert.notEqual(write.exitCode, 0, cmd);
      assert.match(write.stderr, /Read-only file system/, JSON.stringify(write));
    }
  });

  it("a restarted node reads the output of the sandbox it re-adopts; boot id unchanged; no fd left behind", async () => {
    const bootId = (await sh(sandbox, "cat /proc/sys/kernel/random/boot_id")).stdout.trim();
    await node!.close();
    node = undefined;
    assert.deepEqual(
      ownFdTargets().filter((t) => t.startsWith(sandboxDir())),
      [],
      "the closed node holds no fd of the sandbox",
    );
    node = await startNode(testNodeConfig(options, dataDir), silentLogger);
    assert.deepEqual(node.recovery.adopted, [info.sandboxId]);
    const marker = `after-restart-${Date.now()}`;
    await sh(sandbox, `echo ${marker} > /proc/1/fd/1`);
    // The node reads asynchronously (and the flood above may still be draining at the rate limit).
    for (let i = 0; i < 300 && !logText().includes(marker); i++) await sleep(100);
    assert.ok(logText().includes(marker), "the new node reads the sandbox's output");
    assert.equal((await sh(sandbox, "cat /proc/sys/kernel/random/boot_id")).stdout.trim(), bootId);
    await node.manager.kill(info.sandboxId);
    assert.deepEqual(
      ownFdTargets().filter((t) => t.includes(info.sandboxId)),
      [],
      "kill closes the sandbox's pipe and log",
    );
  });

  it("the OCI runtime's own error output still explains a failed create", async () => {
    const dir = mkdtempSync("/var/tmp/cove-sandbox-log-fail-");
    const runtime = node!.sandboxRuntime;
    try {
      const err = await runtime
        .create({
          sandboxId: "logfail1",
          dir,
          rootfs: join(dir, "no-such-rootfs"),
          netnsPath: "/var/run/netns/cove-no-such-netns",
          limits: {},
          args: ["/bin/true"],
          env: {},
          binds: [],
          logFile: join(dir, "envd.log"),
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      assert.ok(err instanceof OciCommandError, `create should fail: ${String(err)}`);
      assert.match(err.output, /no-such/, err.output);
      assert.match(readFileSync(join(dir, "envd.log"), "utf8"), /no-such/);
    } finally {
      await runtime.kill("logfail1");
      rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(!existsSync(dir));
    assert.deepEqual(
      ownFdTargets().filter((t) => t.startsWith(dir)),
      [],
      "no fd of the failed create is left open",
    );
  });
});
