import { isAbsolute } from "node:path";
import { NodeError } from "../../errors.js";
import { cpuShares } from "./cgroup-cpu.js";
import { sandboxSeccompProfile, type SeccompProfile } from "./seccomp.js";

/** A host path made visible inside the sandbox. */
export interface BindMount {
  source: string;
  destination: string;
  readonly: boolean;
}

export interface SandboxLimits {
  /** CPUs the sandbox may use (fractions allowed): becomes CFS quota/period and shares. */
  cpus?: number;
  /** Memory in bytes; swap is set equal, so the sandbox gets no swap on top. */
  memoryBytes?: number;
  /** Maximum number of processes and threads. */
  pids?: number;
  /**
   * A low CPU weight (`backgroundShares`): a warm-pool sandbox booting while other sandboxes
   * and the node work. A hand-out sets it back with `update`.
   */
  background?: boolean;
}

export interface OciSpecOptions {
  /** Sandbox id; also the hostname, so it must be a valid hostname label. */
  id: string;
  /** The container's init command, e.g. ["/.cove/tini", "--", ...]. */
  args: string[];
  /** Environment; PATH gets a standard value unless given. */
  env?: Record<string, string>;
  cwd?: string;
  /** Path of the root filesystem, absolute or relative to the bundle. */
  rootfs: string;
  readonlyRoot?: boolean;
  /** Join this network namespace (e.g. /var/run/netns/X); omitted = a new, empty one. */
  netnsPath?: string;
  /** e.g. "/cove/<id>" (cgroupfs). Omitted = the runtime picks. */
  cgroupsPath?: string;
  limits?: SandboxLimits;
  binds?: BindMount[];
  /** Defaults to the sandbox profile for the host architecture. */
  seccomp?: SeccompProfile;
  /**
   * Join this user namespace (pinned at `path`, mapping 0.. to host ids `uidBase`..). The
   * mappings are repeated in the spec because runc requires them alongside the path.
   */
  userns?: { path: string; uidBase: number; size: number };
  /**
   * Leave RLIMIT_NOFILE as inherited. runc sets rlimits from outside the container with
   * prlimit, which into a user namespace not owned by root needs CAP_SYS_RESOURCE.
   */
  inheritRlimits?: boolean;
}

interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

interface OciDeviceRule {
  allow: boolean;
  type?: "c" | "b" | "a";
  major?: number;
  minor?: number;
  access: string;
}

/** The subset of the OCI runtime-spec config.json that Cove writes. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; ambient: string[] };
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string; path?: string }[];
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
    cgroupsPath?: string;
    resources: {
      devices: OciDeviceRule[];
      cpu?: { quota: number; period: number; shares: number };
      memory?: { limit: number; swap: number };
      pids?: { limit: number };
    };
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp: SeccompProfile;
  };
}

/**
 * Docker's default capability set minus NET_RAW (and MKNOD, SETFCAP).
 * NET_RAW is dropped because raw sockets allow forging packets (ARP/IP
 * spoofing towards other sandboxes on the bridge); `ping` still works through
 * unprivileged ICMP sockets. SYS_ADMIN is never granted.
 */
export const sandboxCapabilities: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_AUDIT_WRITE",
];

/** Kernel interfaces that leak host information or allow host-wide actions. */
export const maskedPaths: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
];

export const readonlyPaths: readonly string[] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** CFS period in microseconds; quota = cpus × period. */
export const cpuPeriodUs = 100_000;
/** Open files per process. Must not exceed the host's hard limit (20000 here) or the runtime fails. */
export const nofileLimit = 4096;

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const hostnameLabel = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

/** Character devices a sandbox may use; everything else is denied by the cgroup. */
const allowedDevices: OciDeviceRule[] = [
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" }, // null
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" }, // zero
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" }, // full
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" }, // random
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" }, // urandom
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" }, // tty
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" }, // ptmx
  { allow: true, type: "c", major: 136, access: "rwm" }, // /dev/pts/* (any minor)
];

/**
 * Builds config.json for one sandbox. Pure: no I/O, same input → same spec.
 * Throws `invalid_argument` for options a runtime would reject or misread.
 */
export function buildOciSpec(options: OciSpecOptions): OciSpec {
  validate(options);
  const env = { PATH: defaultPath, ...options.env };
  const caps = [...sandboxCapabilities];
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: [...options.args],
      env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      cwd: options.cwd ?? "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: [] },
      rlimits: options.inheritRlimits ? [] : [{ type: "RLIMIT_NOFILE", hard: nofileLimit, soft: nofileLimit }],
      // False on purpose: `user` must be able to `sudo`, which needs a setuid
      // binary to gain privileges on exec. no_new_privs would make sudo fail.
      // What root can do inside stays bounded by the capability set and seccomp.
      noNewPrivileges: false,
    },
    root: { path: options.rootfs, readonly: options.readonlyRoot ?? false },
    hostname: options.id,
    // No tmpfs on /tmp: /tmp stays on the rootfs so the sandbox's disk limit covers it.
    mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      // The sandbox's own cgroup, read-only (a cgroup namespace hides the host's
      // tree): runtimes and tools size themselves from the limits they find here.
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
      ...(options.binds ?? []).map(
        (b): OciMount => ({
          destination: b.destination,
          type: "bind",
          source: b.source,
          options: ["rbind", b.readonly ? "ro" : "rw", "nosuid", "nodev"],
        }),
      ),
    ],
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
        options.netnsPath ? { type: "network", path: options.netnsPath } : { type: "network" },
        ...(options.userns ? [{ type: "user", path: options.userns.path }] : []),
      ],
      ...(options.userns ? idMappings(options.userns.uidBase, options.userns.size) : {}),
      ...(options.cgroupsPath ? { cgroupsPath: options.cgroupsPath } : {}),
      // Standard linux.resources: both crun and runc translate these to v1 files
      // or to v2 (cpu.max, memory.max, memory.swap.max = swap - limit, pids.max).
      resources: { devices: [{ allow: false, access: "rwm" }, ...allowedDevices.map((d) => ({ ...d }))], ...resources(options.limits) },
      maskedPaths: [...maskedPaths],
      readonlyPaths: [...readonlyPaths],
      seccomp: options.seccomp ?? sandboxSeccompProfile(),
    },
  };
}

function idMappings(hostID: number, size: number): Pick<OciSpec["linux"], "uidMappings" | "gidMappings"> {
  return { uidMappings: [{ containerID: 0, hostID, size }], gidMappings: [{ containerID: 0, hostID, size }] };
}

function resources(limits: SandboxLimits = {}): Omit<OciSpec["linux"]["resources"], "devices"> {
  const out: Omit<OciSpec["linux"]["resources"], "devices"> = {};
  if (limits.cpus !== undefined) {
    out.cpu = {
      quota: Math.round(limits.cpus * cpuPeriodUs),
      period: cpuPeriodUs,
      // Relative weight under contention, 1024 per CPU like Docker; v1 minimum is 2.
      shares: cpuShares({ cpus: limits.cpus, background: limits.background === true }),
    };
  }
  // OCI's memory.swap is memory+swap, so equal to limit means no swap.
  if (limits.memoryBytes !== undefined) out.memory = { limit: limits.memoryBytes, swap: limits.memoryBytes };
  if (limits.pids !== undefined) out.pids = { limit: limits.pids };
  return out;
}

function validate(o: OciSpecOptions): void {
  const fail = (message: string): never => {
    throw new NodeError("invalid_argument", message);
  };
  if (!hostnameLabel.test(o.id)) fail(`sandbox id "${o.id}" is not a valid hostname label`);
  if (o.args.length === 0 || o.args[0] === "") fail("args must name a program");
  if (o.rootfs === "") fail("rootfs must not be empty");
  if (o.cwd !== undefined && !isAbsolute(o.cwd)) fail(`cwd "${o.cwd}" must be absolute`);
  for (const key of Object.keys(o.env ?? {})) if (key === "" || key.includes("=")) fail(`bad env name "${key}"`);
  const { cpus, memoryBytes, pids } = o.limits ?? {};
  // Below 1 ms of CPU per 100 ms period the kernel rejects the quota.
  if (cpus !== undefined && !(Number.isFinite(cpus) && cpus >= 0.01)) fail(`cpus must be >= 0.01, got ${cpus}`);
  if (memoryBytes !== undefined && !(Number.isSafeInteger(memoryBytes) && memoryBytes >= 4 * 1024 * 1024))
    fail(`memoryBytes must be an integer >= 4 MiB, got ${memoryBytes}`);
  if (pids !== undefined && !(Number.isSafeInteger(pids) && pids > 0)) fail(`pids must be a positive integer, got ${pids}`);
  for (const b of o.binds ?? []) {
    if (!isAbsolute(b.source) || !isAbsolute(b.destination)) fail(`bind ${b.source} -> ${b.destination} must use absolute paths`);
  }
}
