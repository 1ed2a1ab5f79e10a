// What root inside a sandbox leaves on the host must stay out of other host users' reach and
// inert: the data dir and templates are closed (and repaired at start), the sandbox's disk is
// mounted nosuid,nodev, /.cove is read-only, and each sandbox has a boot id of its own. Attacks
// run for real: a setuid file planted from inside a crun sandbox, run by an unprivileged host uid.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Sandbox } from "e2b";
import { startNode, type RunningNode } from "../src/node.js";
import { silentLogger, type Logger } from "../src/sandbox/logger.js";
import type { SandboxInfo } from "../src/sandbox/types.js";
import { connectSdk, ensureBaseTemplate, runCommand, skipReason, testNodeConfig, testTemplatesRoot, type SdkConnection } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason();
if (reason) console.log(`# host-files: skipped: ${reason}`);

const sh = (sandbox: Sandbox, cmd: string, user: "root" | "user" = "root") => runCommand(sandbox, cmd, { user });

/**
 * Executes `path` as the unprivileged host uid/gid 65534 with no supplementary groups. (Not
 * `setpriv --reuid`: here it still executed a file inside a 0700 root-owned dir.)
 */
function asNobody(path: string) {
  const r = spawnSync(path, [], { uid: 65534, gid: 65534, encoding: "utf8" });
  return { status: r.status, error: (r.error as NodeJS.ErrnoException | undefined)?.code, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

/** The mount options of the mount at `mountPoint` in this process's mountinfo. */
function mountOptions(mountPoint: string): string[] {
  const line = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .find((l) => l.split(" ")[4] === mountPoint);
  assert.ok(line, `nothing mounted at ${mountPoint}`);
  return line.split(" ")[5]!.split(",");
}

const modeOf = (path: string) => statSync(path).mode & 0o7777;

describe("host files of sandboxes", { skip: reason, timeout: 600_000 }, () => {
  let node: RunningNode;
  let dataDir: string;
  let templates: string;
  const warnings: { obj: object; msg: string | undefined }[] = [];
  const open: SdkConnection[] = [];
  let a: SandboxInfo;
  let b: SandboxInfo;
  let sa: Sandbox;
  let sb: Sandbox;

  before(async () => {
    await ensureBaseTemplate();
    // As an older node or an operator's mkdir would leave them: open to every host user.
    dataDir = mkdtempSync("/var/tmp/cove-host-files-");
    chmodSync(dataDir, 0o755);
    mkdirSync(join(dataDir, "sandboxes"), { mode: 0o755 });
    templates = mkdtempSync("/var/tmp/cove-host-files-templates-");
    chmodSync(templates, 0o755);
    symlinkSync(join(testTemplatesRoot, "templates", "base"), join(templates, "base"));
    const logger: Logger = { debug() {}, info() {}, warn: (obj, msg) => warnings.push({ obj, msg }), error() {} };
    node = await startNode(testNodeConfig({ ...suiteNetwork("node/host-files"), env: { COVE_TEMPLATES_DIR: templates } }, dataDir), logger);
    a = await node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    b = await node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    open.push(await connectSdk(a), await connectSdk(b));
    sa = open[0]!.sandbox;
    sb = open[1]!.sandbox;
  });

  after(async () => {
    for (const c of open) await c.close();
    await node?.close({ killAll: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    if (templates) rmSync(templates, { recursive: true, force: true });
  });

  it("start-up closes the data dir, its shared dirs and the templates dir to other users, and logs it", () => {
    for (const dir of [
      dataDir,
      join(dataDir, "sandboxes"),
      join(dataDir, "storage"),
      join(dataDir, "storage", "sandboxes"),
      join(dataDir, "runtime"),
      templates,
    ]) {
      assert.equal(modeOf(dir), 0o700, `${dir} is ${modeOf(dir).toString(8)}`);
    }
    const line = warnings.find((w) => /closed host paths/.test(w.msg ?? ""));
    assert.ok(line, `no log line about the repair: ${JSON.stringify(warnings)}`);
    const fixes = (line.obj as { fixes: { path: string; from: string; to: string }[] }).fixes;
    assert.deepEqual(
      fixes
        .filter((f) => f.from === "0755")
        .map((f) => f.path)
        .sort(),
      [dataDir, join(dataDir, "sandboxes"), templates].sort(),
    );
    assert.ok(
      fixes.every((f) => f.to === "0700"),
      JSON.stringify(fixes),
    );
    // Files the node writes per sandbox are its own.
    for (const f of ["config.json", "sandbox.json", "envd.log"]) assert.equal(modeOf(join(dataDir, "sandboxes", a.sandboxId, f)) & 0o077, 0, f);
  });

  it("a setuid file planted inside is out of reach of other host users, and inert even when reached", async () => {
    const planted = await sh(sa, "cp /usr/bin/id /planted && chmod 4755 /planted && stat -c %a /planted");
    assert.equal(planted.stdout.trim(), "4755", planted.stderr);
    const storageDir = join(dataDir, "storage", "sandboxes", a.sandboxId);
    const hostPath = join(storageDir, "disk", "upper", "planted");
    assert.equal(statSync(hostPath).mode & 0o4000, 0o4000, "the planted file is setuid on the host");
    const denied = asNobody(hostPath);
    assert.equal(denied.error, "EACCES", `nobody could run ${hostPath}: ${denied.out}`);

    // Even with every directory on the way opened for the test, the disk's mount gives no privilege.
    const path = [
      dataDir,
      join(dataDir, "storage"),
      join(dataDir, "storage", "sandboxes"),
      storageDir,
      join(storageDir, "disk"),
      join(storageDir, "disk", "upper"),
    ];
    const modes = path.map(modeOf);
    try {
      for (const dir of path) chmodSync(dir, modeOf(dir) | 0o001);
      const ran = asNobody(hostPath);
      assert.equal(ran.status, 0, ran.out);
      assert.match(ran.out, /^uid=65534\b/);
      assert.doesNotMatch(ran.out, /euid=/, "the setuid bit took effect on the host");
    } finally {
      path.forEach((dir, i) => chmodSync(dir, modes[i]!));
    }
    const disk = mountOptions(join(storageDir, "disk"));
    assert.ok(disk.includes("nosuid") && disk.includes("nodev"), `disk mount options: ${disk.join(",")}`);
  });

  it("sudo inside still works: the overlay root keeps setuid, and it is what the sandbox executes through", async () => {
    const rootfs = mountOptions(join(dataDir, "sandboxes", a.sandboxId, "rootfs"));
    assert.ok(!rootfs.includes("nosuid"), `overlay mount options: ${rootfs.join(",")}`);
    const sudo = await sh(sa, "sudo -n id -u", "user");
    assert.equal(sudo.stdout.trim(), "0", sudo.stderr);
    // The planted copy, run inside by `user`, does take effect: through the overlay mount.
    const planted = await sh(sa, "/planted", "user");
    assert.match(planted.stdout, /euid=\d+/, planted.stdout);
  });

  it("each sandbox has its own boot id, stable across reads and pause/resume, not writable even by root", async () => {
    const host = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const read = async (s: Sandbox) => (await sh(s, "cat /proc/sys/kernel/random/boot_id", "user")).stdout.trim();
    const [a1, b1] = [await read(sa), await read(sb)];
    assert.match(a1, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(new Set([host, a1, b1]).size, 3, `host ${host}, a ${a1}, b ${b1}`);
    assert.equal(await read(sa), a1, "stable across reads");
    const write = await sh(sa, "echo 00000000-0000-0000-0000-000000000000 > /proc/sys/kernel/random/boot_id");
    assert.notEqual(write.exitCode, 0);
    assert.match(write.stderr, /Read-only file system|Permission denied/);
    assert.equal(await read(sa), a1);
    await node.manager.pause(b.sandboxId);
    await node.manager.resume(b.sandboxId);
    assert.equal(await read(sb), b1, "kept across pause and resume");
  });

  it("/.cove is a read-only mount, and not writable even by root", async () => {
    const mount = await sh(sa, "awk '$5 == \"/.cove\" {print $6}' /proc/self/mountinfo");
    assert.ok(mount.stdout.trim().split(",").includes("ro"), `/.cove mount options: ${mount.stdout}`);
    // With its own user namespace, root inside is not even the files' owner; without one (see
    // sandbox-log.test.ts) the mount alone answers EROFS.
    for (const cmd of ["touch /.cove/envd.js", "echo x > /.cove/new"]) {
      const write = await sh(sa, cmd);
      assert.notEqual(write.exitCode, 0, cmd);
      assert.match(write.stderr, /Read-only file system|Permission denied/, JSON.stringify(write));
    }
  });
});

// runc 1.1 refuses mounts inside /proc: the boot id reaches it through a createContainer hook.
describe("host files of sandboxes under runc", { skip: reason, timeout: 600_000 }, () => {
  let node: RunningNode;
  let dataDir: string;
  let conn: SdkConnection | undefined;

  before(async () => {
    await ensureBaseTemplate();
    dataDir = mkdtempSync("/var/tmp/cove-host-files-runc-");
    node = await startNode(testNodeConfig({ ...suiteNetwork("node/host-files-runc"), runtime: "runc" }, dataDir), silentLogger);
  });

  after(async () => {
    await conn?.close();
    await node?.close({ killAll: true });
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("a runc sandbox has its own read-only boot id too", async () => {
    const info = await node.manager.create({ templateId: "base", timeoutMs: 600_000, cpuCount: 1 });
    conn = await connectSdk(info);
    const host = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    const inside = (await sh(conn.sandbox, "cat /proc/sys/kernel/random/boot_id", "user")).stdout.trim();
    assert.match(inside, /^[0-9a-f-]{36}$/);
    assert.notEqual(inside, host);
    const write = await sh(conn.sandbox, "echo 00000000-0000-0000-0000-000000000000 > /proc/sys/kernel/random/boot_id");
    assert.notEqual(write.exitCode, 0);
    assert.equal((await sh(conn.sandbox, "cat /proc/sys/kernel/random/boot_id", "user")).stdout.trim(), inside);
  });
});
