import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Language, normalizeLanguage } from "./language.js";

/** The port E2B's code-interpreter SDK sends in E2b-Sandbox-Port. */
export const INTERPRETER_PORT = 49999;

export interface InterpreterConfig {
  host: string;
  port: number;
  /** Expected X-Access-Token on /execute (the sandbox's envd token); undefined: no check. */
  accessToken: string | undefined;
  /**
   * envd in the same sandbox (http://127.0.0.1:49983): it checks each /execute's X-Access-Token
   * and gives the sandbox's env vars (GET /envs). Wins over `accessToken`.
   */
  envdUrl: string | undefined;
  /** Working directory of contexts created without one. */
  defaultCwd: string;
  /** Python with IPython (and optionally matplotlib, pandas) for the python kernel. */
  pythonBinary: string;
  /** Node for the javascript and typescript kernels. */
  nodeBinary: string;
  bashBinary: string;
  /** Directory holding the kernel scripts shipped with this package. */
  kernelsDir: string;
  logLevel: string;
  /** Languages whose default context starts before the server listens (the first run does not wait). */
  warm: Language[];
}

export interface InterpreterFlags {
  host?: string | undefined;
  port?: number | string | undefined;
  accessToken?: string | undefined;
  envdUrl?: string | undefined;
  defaultCwd?: string | undefined;
  python?: string | undefined;
  node?: string | undefined;
  bash?: string | undefined;
  kernelsDir?: string | undefined;
  logLevel?: string | undefined;
  warm?: string | undefined;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "invalid_config";
}

/**
 * Builds the server's config once at start: flags win over environment
 * variables (COVE_INTERPRETER_*), which win over defaults. The only place the
 * server reads process.env.
 */
export function loadConfig(flags: InterpreterFlags = {}, env: NodeJS.ProcessEnv = process.env): InterpreterConfig {
  const portText = flags.port ?? env.COVE_INTERPRETER_PORT ?? String(INTERPRETER_PORT);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`invalid port '${portText}': expected an integer 0-65535`);
  }
  const accessToken = flags.accessToken ?? env.COVE_INTERPRETER_ACCESS_TOKEN;
  const envdUrl = flags.envdUrl ?? env.COVE_INTERPRETER_ENVD_URL;
  if (envdUrl !== undefined && envdUrl !== "" && !URL.canParse(envdUrl)) throw new ConfigError(`invalid envd url '${envdUrl}'`);
  return {
    host: flags.host ?? env.COVE_INTERPRETER_HOST ?? "0.0.0.0",
    port,
    accessToken: accessToken === "" ? undefined : accessToken,
    envdUrl: envdUrl === "" ? undefined : envdUrl,
    defaultCwd: resolve(flags.defaultCwd ?? env.COVE_INTERPRETER_CWD ?? "/home/user"),
    pythonBinary: flags.python ?? env.COVE_INTERPRETER_PYTHON ?? "/usr/bin/python3",
    nodeBinary: flags.node ?? env.COVE_INTERPRETER_NODE ?? process.execPath,
    bashBinary: flags.bash ?? env.COVE_INTERPRETER_BASH ?? "/bin/bash",
    // Beside dist/ (or src/) in the package; a bundle that moves this file sets it explicitly.
    kernelsDir: resolve(flags.kernelsDir ?? env.COVE_INTERPRETER_KERNELS_DIR ?? join(dirname(fileURLToPath(import.meta.url)), "..", "kernels")),
    logLevel: flags.logLevel ?? env.COVE_INTERPRETER_LOG_LEVEL ?? "info",
    warm: warmLanguages(flags.warm ?? env.COVE_INTERPRETER_WARM ?? ""),
  };
}

function warmLanguages(text: string): Language[] {
  const names = text
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  try {
    return [...new Set(names.map((n) => normalizeLanguage(n)))];
  } catch (err) {
    throw new ConfigError(`invalid --warm '${text}': ${(err as Error).message}`);
  }
}
