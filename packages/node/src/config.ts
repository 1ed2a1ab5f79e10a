import { cpus, totalmem } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseInteger, parseListen as parseListenValue } from "@cove/protocol/config-values";
import { NodeError } from "./errors.js";
import type { ProcViewsMode } from "./proc-views/proc-views.js";
import type { OciRuntimeName } from "./runtime/container/host-detect.js";

/** Everything `cove node` can be told, after flags, environment and defaults are merged. */
export interface NodeConfig {
  dataDir: string;
  templatesDir: string;
  listenHost: string;
  listenPort: number;
  /** Shared secret the api presents; undefined = read or create `<dataDir>/node-secret`. */
  secret: string | undefined;
  /** Preferred OCI runtime; undefined = detect (crun, then runc). */
  ociRuntime: OciRuntimeName | undefined;
  /** The portable envd folder mounted into sandboxes. */
  envdRuntimeDir: string;
  sandboxCidr: string;
  /** Prefix of this node's veths, netns and nft table; two nodes on one host need different ones. */
  networkPrefix: string;
  allowedCidrs: string[];
  dnsServers: string[] | undefined;
  /** Warm pool: sandboxes each pool template keeps waiting (the minimum and initial target). */
  poolSize: number;
  /** Templates with a pool from the start (COVE_POOL_TEMPLATE, comma-separated). */
  poolTemplates: string[];
  /** Pool sandboxes on the node, all templates together; 0 = no pool. */
  poolMax: number;
  /** Pool sandboxes booted at once. */
  poolConcurrency: number;
  /** Callers' cold creates booted at once; more wait in arrival order (COVE_BOOT_CONCURRENCY). */
  bootConcurrency: number;
  /** A pool idle this long shrinks back to poolSize. */
  poolIdleMs: number;
  /** The pool boots only while MemAvailable is at least this (MiB). */
  poolMemoryReserveMB: number;
  pidsLimit: number;
  /** Formatted disk images kept ready so a cold create skips mkfs (COVE_SPARE_DISKS; 0 = none). */
  spareDisks: number;
  /** Registry → mirror URLs tried first for template builds FROM an image (COVE_REGISTRY_MIRRORS). */
  registryMirrors: Record<string, string[]>;
  /** Registries reached over plain http (COVE_INSECURE_REGISTRIES), e.g. a registry on loopback. */
  insecureRegistries: string[];
  /** `debian:<suite>` from the Debian mirror: local, auto (when the registry is unreachable) or registry (COVE_DEBIAN_IMAGES). */
  debianImages: "local" | "auto" | "registry";
  /** Unused build layers are kept this long as a cache (COVE_LAYER_CACHE_HOURS). */
  layerCacheMs: number;
  /** How long a build's ready command may take to pass (COVE_BUILD_READY_TIMEOUT_SECONDS). */
  buildReadyTimeoutMs: number;
  /** CA certificates builds trust and templates keep: a PEM file or a dir of *.crt (COVE_EXTRA_CA_CERTS); "" = none. */
  extraCaCerts: string;
  /** Each sandbox in its own user namespace (default); off = root inside is root on the host. */
  sandboxUserns: boolean;
  /** First host uid/gid of the sandboxes' user namespace ranges (65536 ids each). */
  sandboxUidBase: number;
  /** Sandboxes' /proc views (meminfo, cpuinfo, uptime, ...) from lxcfs: auto (when installed), lxcfs (required) or off. */
  procViews: ProcViewsMode;
  maxCpus: number;
  maxMemoryMB: number;
  logLevel: string;
}

export interface NodeFlags {
  dataDir?: string | undefined;
  listen?: string | undefined;
  runtime?: string | undefined;
  envdRuntime?: string | undefined;
  poolSize?: string | number | undefined;
  poolMax?: string | number | undefined;
  logLevel?: string | undefined;
}

export class NodeConfigError extends NodeError {
  constructor(message: string) {
    super("invalid_argument", message);
  }
}

const fail = (message: string) => new NodeConfigError(message);
const parseListen = (text: string) => parseListenValue(text, fail);
const parseInt10 = (name: string, text: string, min: number, max: number) => parseInteger(name, text, min, max, fail);

function onOff(name: string, text: string): boolean {
  if (text === "on") return true;
  if (text === "off") return false;
  throw new NodeConfigError(`${name} must be on or off, got '${text}'`);
}

function list(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The node's configuration: flags win over environment variables, which win
 * over defaults. The only place the node reads process.env; every option is
 * in the operator guide's table.
 */
export function loadNodeConfig(flags: NodeFlags, env: NodeJS.ProcessEnv, defaults: { envdRuntimeDir: string }): NodeConfig {
  const dataDir = resolve(flags.dataDir ?? env.COVE_DATA_DIR ?? ".cove");
  const listen = parseListen(flags.listen ?? env.COVE_NODE_LISTEN ?? "127.0.0.1:5008");
  const runtime = flags.runtime ?? env.COVE_OCI_RUNTIME;
  if (runtime !== undefined && runtime !== "crun" && runtime !== "runc" && runtime !== "auto") {
    throw new NodeConfigError(`runtime must be crun, runc or auto, got '${runtime}'`);
  }
  const prefix = env.COVE_NETWORK_PREFIX ?? "cv";
  if (!/^[a-z][a-z0-9]{0,5}$/.test(prefix)) throw new NodeConfigError(`COVE_NETWORK_PREFIX must be 1-6 characters [a-z0-9], got '${prefix}'`);
  const templatesDir = env.COVE_TEMPLATES_DIR ? resolve(env.COVE_TEMPLATES_DIR) : join(dataDir, "templates");
  const envdRuntimeDir = resolve(flags.envdRuntime ?? env.COVE_ENVD_RUNTIME ?? defaults.envdRuntimeDir);
  if (!isAbsolute(envdRuntimeDir)) throw new NodeConfigError("envd runtime dir must be absolute");
  const dns = list(env.COVE_SANDBOX_DNS);
  const poolSize = parseInt10("pool size", String(flags.poolSize ?? env.COVE_POOL_SIZE ?? "2"), 0, 100);
  // Without an explicit maximum, --pool-size 0 keeps meaning "no pool".
  const poolTemplates = list(env.COVE_POOL_TEMPLATE ?? "base");
  const poolMaxText = flags.poolMax ?? env.COVE_POOL_MAX;
  const poolMax =
    poolMaxText === undefined ? (poolSize === 0 ? 0 : Math.max(poolSize * poolTemplates.length, 8)) : parseInt10("pool max", String(poolMaxText), 0, 1000);
  const procViews = env.COVE_PROC_VIEWS ?? "auto";
  if (procViews !== "auto" && procViews !== "lxcfs" && procViews !== "off") {
    throw new NodeConfigError(`COVE_PROC_VIEWS must be auto, lxcfs or off, got '${procViews}'`);
  }
  if (poolMax < poolSize * poolTemplates.length) {
    throw new NodeConfigError(`pool max (${poolMax}) is below pool size × pool templates (${poolSize} × ${poolTemplates.length})`);
  }
  return {
    dataDir,
    templatesDir,
    listenHost: listen.host,
    listenPort: listen.port,
    secret: env.COVE_NODE_SECRET || undefined,
    ociRuntime: runtime === "auto" ? undefined : (runtime as OciRuntimeName | undefined),
    envdRuntimeDir,
    sandboxCidr: env.COVE_SANDBOX_CIDR ?? "10.201.0.0/16",
    networkPrefix: prefix,
    allowedCidrs: list(env.COVE_SANDBOX_ALLOW_CIDRS),
    dnsServers: dns.length > 0 ? dns : undefined,
    poolSize,
    poolTemplates,
    poolMax,
    // One more boot than CPUs: a boot also waits (mounts, envd's start); measured in docs/benchmarks.md.
    poolConcurrency: parseInt10("COVE_POOL_CONCURRENCY", env.COVE_POOL_CONCURRENCY ?? String(cpus().length + 1), 1, 64),
    bootConcurrency: parseInt10("COVE_BOOT_CONCURRENCY", env.COVE_BOOT_CONCURRENCY ?? String(cpus().length + 1), 1, 256),
    poolIdleMs: parseInt10("COVE_POOL_IDLE_SECONDS", env.COVE_POOL_IDLE_SECONDS ?? "60", 1, 86_400) * 1000,
    // Default: a tenth of the host's memory, at least 512 MiB.
    poolMemoryReserveMB: parseInt10(
      "COVE_POOL_MEMORY_RESERVE_MB",
      env.COVE_POOL_MEMORY_RESERVE_MB ?? String(Math.max(512, Math.floor(totalmem() / 1024 / 1024 / 10))),
      0,
      1 << 30,
    ),
    spareDisks: parseInt10("COVE_SPARE_DISKS", env.COVE_SPARE_DISKS ?? "2", 0, 64),
    registryMirrors: parseMirrors(env.COVE_REGISTRY_MIRRORS ?? ""),
    insecureRegistries: list(env.COVE_INSECURE_REGISTRIES),
    debianImages: debianImagesMode(env.COVE_DEBIAN_IMAGES ?? "auto"),
    layerCacheMs: parseInt10("COVE_LAYER_CACHE_HOURS", env.COVE_LAYER_CACHE_HOURS ?? "168", 0, 87_600) * 3_600_000,
    buildReadyTimeoutMs: parseInt10("COVE_BUILD_READY_TIMEOUT_SECONDS", env.COVE_BUILD_READY_TIMEOUT_SECONDS ?? "120", 1, 86_400) * 1000,
    // Debian's local trust anchors: what an operator adds for a TLS-intercepting proxy.
    extraCaCerts: env.COVE_EXTRA_CA_CERTS ?? "/usr/local/share/ca-certificates",
    pidsLimit: parseInt10("COVE_SANDBOX_PIDS", env.COVE_SANDBOX_PIDS ?? "1024", 16, 1_000_000),
    sandboxUserns: onOff("COVE_SANDBOX_USERNS", env.COVE_SANDBOX_USERNS ?? "on"),
    // 0x70000000: above the ranges systemd hands to containers and homed users, below 2^31.
    sandboxUidBase: parseInt10("COVE_SANDBOX_UID_BASE", env.COVE_SANDBOX_UID_BASE ?? "1879048192", 65_536, 0xffff_0000),
    procViews,
    maxCpus: cpus().length,
    maxMemoryMB: Math.floor(totalmem() / 1024 / 1024),
    logLevel: flags.logLevel ?? env.COVE_LOG_LEVEL ?? "info",
  };
}

/** `docker.io=https://mirror.a|https://mirror.b,ghcr.io=https://…`: each registry's mirrors, in order. */
function parseMirrors(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const entry of list(text)) {
    const i = entry.indexOf("=");
    const registry = entry.slice(0, i).trim();
    const urls = entry
      .slice(i + 1)
      .split("|")
      .map((u) => u.trim())
      .filter((u) => u !== "");
    if (i <= 0 || urls.length === 0) throw new NodeConfigError(`COVE_REGISTRY_MIRRORS: expected registry=https://mirror[|https://another], got '${entry}'`);
    for (const url of urls) {
      if (!/^https?:\/\/[^\s/]+/.test(url)) throw new NodeConfigError(`COVE_REGISTRY_MIRRORS: ${registry}: '${url}' is not an http(s) URL`);
    }
    out[registry] = urls;
  }
  return out;
}

function debianImagesMode(value: string): "local" | "auto" | "registry" {
  if (value === "local" || value === "auto" || value === "registry") return value;
  throw new NodeConfigError(`COVE_DEBIAN_IMAGES must be local, auto or registry, got '${value}'`);
}
