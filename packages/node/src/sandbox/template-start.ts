import { shellQuote } from "@cove/builder";
import { setTimeout as sleep } from "node:timers/promises";
import { NodeError } from "../errors.js";
import { execInSandbox } from "./envd-exec.js";

export interface TemplateStart {
  startCmd?: string;
  readyCmd?: string;
  user: string;
  workdir: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** Lines of the ready command's output and, on failure, the start command's last lines. */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
  signal?: AbortSignal;
}

const startLog = "/tmp/.cove-start.log";

/**
 * Starts a template's start command in the sandbox (in the background, as the template's user, output
 * to a file) and polls its ready command until it exits 0, as E2B does before a build (or a
 * sandbox) counts as ready. Throws with the start command's last lines when it never does.
 */
export async function startAndAwaitReady(envdAddress: string, accessToken: string, start: TemplateStart): Promise<void> {
  const signal = start.signal ?? new AbortController().signal;
  const exec = (command: string, user: string, onLine: TemplateStart["onLine"] = () => undefined) =>
    execInSandbox(envdAddress, accessToken, { command, user, cwd: start.workdir, env: start.env, onLine, signal });
  if (start.startCmd) {
    // No terminal, so no hangup to guard against (and minimal images have no nohup).
    await exec(`/bin/sh -c ${shellQuote(start.startCmd)} >${startLog} 2>&1 </dev/null &`, start.user);
  }
  if (!start.readyCmd) return;
  const deadline = Date.now() + start.timeoutMs;
  let last = -1;
  while (Date.now() < deadline) {
    last = await exec(start.readyCmd, start.user);
    if (last === 0) return;
    await sleep(200, undefined, { signal });
  }
  await exec(`tail -n 20 ${startLog} 2>/dev/null`, "root", (_s, line) => start.onLine?.("stderr", line)).catch(() => 0);
  throw new NodeError("runtime_failed", `the template's ready command did not pass within ${start.timeoutMs} ms (last exit code ${last})`);
}
