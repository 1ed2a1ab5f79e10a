import { stat } from "node:fs/promises";
import type { StartRequest } from "@cove/protocol/process";
import type { EnvdContext } from "../../context.js";
import { EnvdError } from "../../errors.js";
import { resolveSandboxPath, toHostPath } from "../../paths.js";
import type { OsUser } from "../../users.js";
import type { ProcessConfigInfo } from "./managed-process.js";

/** PATH for processes, as envd sets it; sandbox env vars or request envs may override it. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Everything needed to start one process, validated. */
export interface LaunchSpec {
  user: OsUser;
  cmd: string;
  args: string[];
  env: Record<string, string>;
  /** Working directory inside the sandbox. */
  cwd: string;
  /** The same directory on the host (differs only with --root). */
  hostCwd: string;
  pty: { cols: number; rows: number } | undefined;
  /** Keep a stdin pipe open for SendInput/StreamInput (absent in the request means yes). */
  stdin: boolean;
  tag: string | undefined;
  config: ProcessConfigInfo;
}

export async function resolveLaunch(ctx: EnvdContext, user: OsUser, req: StartRequest): Promise<LaunchSpec> {
  const process = req.process;
  if (!process?.cmd) throw new EnvdError("invalid_argument", "process.cmd is required");
  const cwd = await resolveCwd(ctx, user, process.cwd);
  const env: Record<string, string> = {
    PATH: DEFAULT_PATH,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell,
    ...ctx.state.envVars,
    ...process.envs,
  };
  let pty: LaunchSpec["pty"];
  if (req.pty) {
    const size = req.pty.size;
    pty = { cols: size?.cols || 80, rows: size?.rows || 24 };
  }
  return {
    user,
    cmd: process.cmd,
    args: [...process.args],
    env,
    cwd,
    hostCwd: toHostPath(ctx.config.root, cwd),
    pty,
    stdin: req.stdin ?? true,
    tag: req.tag,
    config: { cmd: process.cmd, args: [...process.args], envs: { ...process.envs }, cwd: process.cwd },
  };
}

/** Request cwd (~ and relative paths against home), else the sandbox default, else home; must exist. */
async function resolveCwd(ctx: EnvdContext, user: OsUser, requested: string | undefined): Promise<string> {
  const cwd = requested ? resolveSandboxPath(requested, user) : ctx.state.defaultWorkdir ? resolveSandboxPath(ctx.state.defaultWorkdir, user) : user.home;
  const info = await stat(toHostPath(ctx.config.root, cwd)).catch(() => undefined);
  if (!info?.isDirectory()) throw new EnvdError("invalid_argument", `cwd '${cwd}' does not exist`);
  return cwd;
}

/** Arguments for cove-exec: `<uid> <gid> <groups> <root> <cwd> -- <cmd> [args...]`. */
export function helperArgs(spec: LaunchSpec, root: string): string[] {
  const { user } = spec;
  return [String(user.uid), String(user.gid), user.groups.join(","), root, spec.cwd, "--", spec.cmd, ...spec.args];
}
