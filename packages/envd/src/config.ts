import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ENVD_PORT, ENVD_VERSION } from "@cove/protocol/envd";

export { ENVD_VERSION } from "@cove/protocol/envd";

export interface EnvdConfig {
  host: string;
  port: number;
  /** Directory that is "/" for the files and processes envd serves. "/" inside a sandbox. */
  root: string;
  version: string;
  logLevel: string;
  /** Static helper that drops to a user (setgroups/setgid/setuid, optional chroot) and execs. */
  execHelper: string;
  /** Static helper that starts processes for envd, so envd never forks its own heap (decision 0017). */
  spawnHelper: string;
  /** Static helper that streams inotify events for a directory tree. */
  watchHelper: string;
  /** Node-API addon that makes file system calls with a user's credentials (decision 0011). */
  userFsAddon: string;
  /** Access token set at start (otherwise only /init sets one). */
  accessToken: string | undefined;
  defaultUser: string;
  defaultWorkdir: string | undefined;
}

export interface EnvdFlags {
  host?: string | undefined;
  port?: number | string | undefined;
  root?: string | undefined;
  logLevel?: string | undefined;
  accessToken?: string | undefined;
  defaultUser?: string | undefined;
  defaultWorkdir?: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "invalid_config";
}

/**
 * Builds envd's config once at start: flags win over environment variables,
 * which win over defaults. The only place envd reads process.env.
 */
export function loadConfig(flags: EnvdFlags = {}, env: NodeJS.ProcessEnv = process.env): EnvdConfig {
  const portText = flags.port ?? env.ENVD_PORT ?? String(ENVD_PORT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`invalid port '${portText}': expected an integer 0-65535`);
  }
  const root = resolve(flags.root ?? env.ENVD_ROOT ?? "/");
  if (!existsSync(root)) throw new ConfigError(`root directory '${root}' does not exist`);
  const nativeDir = findNativeDir(env.ENVD_NATIVE_DIR);
  return {
    host: flags.host ?? env.ENVD_HOST ?? "0.0.0.0",
    port,
    root,
    version: ENVD_VERSION,
    logLevel: flags.logLevel ?? env.ENVD_LOG_LEVEL ?? "info",
    execHelper: join(nativeDir, "cove-exec"),
    spawnHelper: join(nativeDir, "cove-spawn"),
    watchHelper: join(nativeDir, "cove-watch"),
    userFsAddon: join(nativeDir, "cove-userfs.node"),
    accessToken: flags.accessToken ?? env.ENVD_ACCESS_TOKEN ?? undefined,
    defaultUser: flags.defaultUser ?? env.ENVD_DEFAULT_USER ?? "root",
    defaultWorkdir: flags.defaultWorkdir ?? env.ENVD_DEFAULT_WORKDIR ?? undefined,
  };
}

/**
 * The native helpers sit in build/native in the source tree, and in native/
 * beside envd.js in the portable bundle.
 */
function findNativeDir(override: string | undefined): string {
  if (override) return resolve(override);
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "native"), join(here, "../build/native")];
  return candidates.find((dir) => existsSync(dir)) ?? candidates[1]!;
}
