import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { bundleRelative } from "../src/runtime/container/container-runtime.js";
import { detectCgroupMode, hasSysResource, ociRunArgv, parseRuntimeVersion, type OciRuntime } from "../src/runtime/container/host-detect.js";
import { backgroundShares, sharesToWeight } from "../src/runtime/container/cgroup-cpu.js";
import { buildOciSpec, type OciSpecOptions } from "../src/runtime/container/oci-spec.js";
import { deniedSyscalls, sandboxSeccompProfile } from "../src/runtime/container/seccomp.js";

const base: OciSpecOptions = { id: "sb-abc123", args: ["/.cove/tini", "--", "/bin/sh"], rootfs: "rootfs" };

describe("buildOciSpec", () => {
  it("uses the id as hostname and keeps args", () => {
    const spec = buildOciSpec(base);
    assert.equal(spec.hostname, "sb-abc123");
    assert.deepEqual(spec.process.args, ["/.cove/tini", "--", "/bin/sh"]);
    assert.equal(spec.root.path, "rootfs");
    assert.equal(spec.root.readonly, false);
    assert.equal(buildOciSpec({ ...base, readonlyRoot: true }).root.readonly, true);
  });

  it("creates pid, ipc, uts, mount, cgroup and a new network namespace", () => {
    const types = buildOciSpec(base).linux.namespaces;
    assert.deepEqual(types, [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "cgroup" }, { type: "network" }]);
    assert.ok(!types.some((n) => n.type === "user"), "no user namespace unless one is given");
    assert.equal(buildOciSpec(base).linux.uidMappings, undefined);
  });

  it("joins a given user namespace and repeats its mappings (runc requires them)", () => {
    const spec = buildOciSpec({ ...base, userns: { path: "/data/userns/sb-abc123", uidBase: 0x7001_0000, size: 65_536 } });
    assert.deepEqual(spec.linux.namespaces.at(-1), { type: "user", path: "/data/userns/sb-abc123" });
    const mapping = [{ containerID: 0, hostID: 0x7001_0000, size: 65_536 }];
    assert.deepEqual(spec.linux.uidMappings, mapping);
    assert.deepEqual(spec.linux.gidMappings, mapping);
    assert.equal(spec.process.rlimits.length, 1);
    assert.deepEqual(buildOciSpec({ ...base, inheritRlimits: true }).process.rlimits, []);
  });

  it("gives crun the rootfs relative to the bundle when it lies inside it", () => {
    assert.equal(bundleRelative("/data/sandboxes/x", "/data/sandboxes/x/rootfs"), "rootfs");
    assert.equal(bundleRelative("/data/sandboxes/x", "/data/sandboxes/y/rootfs"), "/data/sandboxes/y/rootfs");
    assert.equal(bundleRelative("/data/sandboxes/x", "/data/sandboxes/x"), "/data/sandboxes/x");
  });

  it("reads CAP_SYS_RESOURCE from CapEff", () => {
    assert.equal(hasSysResource("Name:\tnode\nCapEff:\t000001ffffffffff\n"), true);
    assert.equal(hasSysResource("Name:\tnode\nCapEff:\t000001fffeffffff\n"), false);
    assert.equal(hasSysResource("Name:\tnode\n"), false);
  });

  it("joins a given network namespace", () => {
    const ns = buildOciSpec({ ...base, netnsPath: "/var/run/netns/sb-abc123" }).linux.namespaces;
    assert.deepEqual(ns.at(-1), { type: "network", path: "/var/run/netns/sb-abc123" });
  });

  it("turns limits into cgroup values", () => {
    const spec = buildOciSpec({ ...base, cgroupsPath: "/cove/sb-abc123", limits: { cpus: 1.5, memoryBytes: 512 * 1024 * 1024, pids: 256 } });
    assert.equal(spec.linux.cgroupsPath, "/cove/sb-abc123");
    assert.deepEqual(spec.linux.resources.cpu, { quota: 150_000, period: 100_000, shares: 1536 });
    assert.deepEqual(spec.linux.resources.memory, { limit: 536_870_912, swap: 536_870_912 });
    assert.deepEqual(spec.linux.resources.pids, { limit: 256 });
    assert.deepEqual(buildOciSpec({ ...base, limits: { cpus: 0.25 } }).linux.resources.cpu, { quota: 25_000, period: 100_000, shares: 256 });
  });

  it("a background sandbox keeps its quota at a low weight", () => {
    const spec = buildOciSpec({ ...base, limits: { cpus: 2, background: true } });
    assert.deepEqual(spec.linux.resources.cpu, { quota: 200_000, period: 100_000, shares: backgroundShares });
    // v2 gets the weight crun and runc derive from the spec's shares.
    assert.deepEqual([2, 1024, 2048, 262_144].map(sharesToWeight), [1, 39, 79, 10_000]);
  });

  it("sets no limits and no cgroupsPath unless asked", () => {
    const spec = buildOciSpec(base);
    assert.equal(spec.linux.cgroupsPath, undefined);
    assert.equal(spec.linux.resources.cpu, undefined);
    assert.equal(spec.linux.resources.memory, undefined);
    assert.equal(spec.linux.resources.pids, undefined);
  });

  it("grants the minimal capability set without NET_RAW or SYS_ADMIN", () => {
    const { capabilities } = buildOciSpec(base).process;
    for (const set of [capabilities.bounding, capabilities.effective, capabilities.permitted]) {
      assert.equal(set.length, 11);
      assert.ok(set.includes("CAP_SETUID") && set.includes("CAP_AUDIT_WRITE"));
      for (const cap of ["CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_NET_ADMIN", "CAP_MKNOD"]) {
        assert.ok(!set.includes(cap), cap);
      }
    }
    assert.deepEqual(capabilities.ambient, []);
  });

  it("allows sudo (no noNewPrivileges) and caps open files", () => {
    const { process: proc } = buildOciSpec(base);
    assert.equal(proc.noNewPrivileges, false);
    assert.deepEqual(proc.rlimits, [{ type: "RLIMIT_NOFILE", hard: 4096, soft: 4096 }]);
  });

  it("masks and write-protects kernel interfaces", () => {
    const { linux } = buildOciSpec(base);
    for (const p of [
      "/proc/kcore",
      "/proc/keys",
      "/proc/timer_list",
      "/proc/sched_debug",
      "/proc/scsi",
      "/sys/firmware",
      "/proc/acpi",
      "/proc/asound",
      "/proc/latency_stats",
      "/proc/timer_stats",
    ]) {
      assert.ok(linux.maskedPaths.includes(p), p);
    }
    assert.deepEqual([...linux.readonlyPaths].sort(), ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]);
  });

  it("mounts the standard filesystems, sysfs read-only, and no tmpfs on /tmp", () => {
    const mounts = buildOciSpec(base).mounts;
    assert.deepEqual(
      mounts.map((m) => m.destination),
      ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"],
    );
    assert.ok(mounts.find((m) => m.destination === "/sys")?.options?.includes("ro"));
    assert.ok(mounts.find((m) => m.destination === "/sys/fs/cgroup")?.options?.includes("ro"), "the cgroup view is read-only");
    assert.ok(!mounts.some((m) => m.destination === "/tmp"));
  });

  it("adds bind mounts, read-only when asked", () => {
    const mounts = buildOciSpec({
      ...base,
      binds: [
        { source: "/opt/cove/envd", destination: "/.cove", readonly: true },
        { source: "/srv/sb/data", destination: "/data", readonly: false },
      ],
    }).mounts;
    const ro = mounts.find((m) => m.destination === "/.cove");
    const rw = mounts.find((m) => m.destination === "/data");
    assert.equal(ro?.type, "bind");
    assert.equal(ro?.source, "/opt/cove/envd");
    assert.ok(ro?.options?.includes("ro") && ro.options.includes("rbind") && !ro.options.includes("rw"));
    assert.ok(rw?.options?.includes("rw") && !rw.options.includes("ro"));
  });

  it("denies all devices except the standard character devices", () => {
    const devices = buildOciSpec(base).linux.resources.devices;
    assert.deepEqual(devices[0], { allow: false, access: "rwm" });
    const allowed = devices.filter((d) => d.allow).map((d) => `${d.type} ${d.major}:${d.minor ?? "*"}`);
    assert.deepEqual(allowed, ["c 1:3", "c 1:5", "c 1:7", "c 1:8", "c 1:9", "c 5:0", "c 5:2", "c 136:*"]);
  });

  it("builds env with a default PATH that can be overridden", () => {
    assert.deepEqual(buildOciSpec({ ...base, env: { HOME: "/home/user" } }).process.env, [
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/home/user",
    ]);
    assert.deepEqual(buildOciSpec({ ...base, env: { PATH: "/bin" } }).process.env, ["PATH=/bin"]);
  });

  it("rejects bad input with invalid_argument", () => {
    const bad: OciSpecOptions[] = [
      { ...base, id: "-bad" },
      { ...base, id: "a/b" },
      { ...base, id: "x".repeat(64) },
      { ...base, args: [] },
      { ...base, cwd: "relative" },
      { ...base, limits: { cpus: 0 } },
      { ...base, limits: { memoryBytes: 1.5 } },
      { ...base, limits: { pids: -1 } },
      { ...base, env: { "A=B": "c" } },
      { ...base, binds: [{ source: "rel", destination: "/x", readonly: true }] },
    ];
    for (const options of bad) {
      assert.throws(
        () => buildOciSpec(options),
        (err: unknown) => err instanceof NodeError && err.code === "invalid_argument",
      );
    }
  });
});

describe("sandbox seccomp profile", () => {
  const required = [
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "mount",
    "umount2",
    "pivot_root",
    "unshare",
    "setns",
    "swapon",
    "swapoff",
    "reboot",
    "open_by_handle_at",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "ptrace",
    "acct",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "syslog",
    "lookup_dcookie",
    "quotactl",
    "name_to_handle_at",
  ];

  it("allows by default and denies the listed syscalls with EPERM", () => {
    const profile = buildOciSpec(base).linux.seccomp;
    assert.equal(profile.defaultAction, "SCMP_ACT_ALLOW");
    const denied = profile.syscalls.filter((r) => r.action === "SCMP_ACT_ERRNO" && r.errnoRet === 1 && !r.args);
    const names = new Set(denied.flatMap((r) => r.names));
    for (const name of required) assert.ok(names.has(name), name);
    assert.ok(!names.has("clone") && !names.has("read"));
  });

  it("denies namespace-creating clone flags and sends clone3 to the clone fallback", () => {
    const profile = sandboxSeccompProfile("x64");
    const cloneRules = profile.syscalls.filter((r) => r.names.includes("clone"));
    const userns = 0x10000000;
    assert.ok(cloneRules.some((r) => r.args?.[0]?.value === userns && r.args[0].valueTwo === userns && r.args[0].op === "SCMP_CMP_MASKED_EQ"));
    assert.deepEqual(
      profile.syscalls.find((r) => r.names.includes("clone3")),
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38 },
    );
  });

  it("covers the native arch and its compat ABIs", () => {
    assert.deepEqual(sandboxSeccompProfile("x64").architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
    assert.deepEqual(sandboxSeccompProfile("arm64").architectures, ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]);
  });

  it("lists each syscall once", () => {
    const all = Object.values(deniedSyscalls).flat();
    assert.equal(new Set(all).size, all.length);
  });
});

describe("host detection", () => {
  function fakeCgroupRoot(files: string[]): string {
    const root = mkdtempSync(join(tmpdir(), "cove-cg-"));
    for (const f of files) {
      mkdirSync(join(root, f, ".."), { recursive: true });
      writeFileSync(join(root, f), "");
    }
    return root;
  }

  for (const [files, mode] of [
    [["cgroup.controllers"], "v2"],
    [["unified/cgroup.controllers", "memory/tasks"], "hybrid"],
    [["memory/tasks"], "v1"],
  ] as const) {
    it(`detects ${mode}`, () => {
      const root = fakeCgroupRoot([...files]);
      try {
        assert.equal(detectCgroupMode(root), mode);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  it("parses runtime versions", () => {
    assert.equal(parseRuntimeVersion("crun version 1.8.1\ncommit: f8a0\n"), "1.8.1");
    assert.equal(parseRuntimeVersion("runc version 1.1.5+ds1\ncommit: x\n"), "1.1.5+ds1");
    assert.equal(parseRuntimeVersion("garbage"), "unknown");
  });

  it("wraps only crun create/run on hybrid hosts, passing args as positional parameters", () => {
    const crun: OciRuntime = { name: "crun", path: "/usr/bin/crun", version: "1.8.1", needsHybridWorkaround: true };
    const runc: OciRuntime = { name: "runc", path: "/usr/sbin/runc", version: "1.1.5", needsHybridWorkaround: false };
    const args = ["run", "--bundle", "/b; rm -rf /", "id"];
    assert.deepEqual(ociRunArgv(crun, "v2", args), ["/usr/bin/crun", ...args]);
    assert.deepEqual(ociRunArgv(runc, "hybrid", args), ["/usr/sbin/runc", ...args]);
    const wrapped = ociRunArgv(crun, "hybrid", args);
    assert.deepEqual(wrapped.slice(0, 5), ["unshare", "-m", "--propagation", "slave", "sh"]);
    assert.deepEqual(wrapped.slice(7), ["/usr/bin/crun", ...args]);
    assert.ok(!wrapped[6]?.includes("/b;"));
  });
});
