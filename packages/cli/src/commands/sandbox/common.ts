import { CommanderError, InvalidArgumentError } from "commander";
import { CommandExitError, NotFoundError, Sandbox } from "e2b";
import { callApi, sdkOptions, type ClientConfig } from "../../client.js";

/** Collects repeated `--flag k=v` options into a map (the value may itself contain `=`). */
export function collectPairs(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`expected KEY=VALUE, got '${value}'`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

export function parseSeconds(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError(`expected a whole number of seconds, got '${value}'`);
  return Number(value);
}

/**
 * Ends the command with this exit code and no message of its own (the remote
 * process already said what went wrong). main.ts treats CommanderError as
 * "exit quietly with err.exitCode", so exiting stays in one place.
 */
export function exitWith(code: number): CommanderError {
  return new CommanderError(code, "cove.exitCode", `exited with code ${code}`);
}

/** A remote exit status as a local one: negative (killed by a signal) or out-of-range codes become 1. */
export function localExitCode(code: number): number {
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : 1;
}

/** The exit code a finished remote process reports; the SDK throws CommandExitError for non-zero ones. */
export async function waitExitCode(wait: () => Promise<{ exitCode: number }>): Promise<number> {
  try {
    return (await wait()).exitCode;
  } catch (err) {
    if (err instanceof CommandExitError) return err.exitCode;
    throw err;
  }
}

export async function connectSandbox(config: ClientConfig, id: string): Promise<Sandbox> {
  return callApi(config, async () => {
    try {
      // Attaching extends the deadline by the keepalive window only (the SDK's default would be 5 minutes).
      return await Sandbox.connect(id, { ...sdkOptions(config), timeoutMs: 5 * keepAliveEveryMs() });
    } catch (err) {
      // The SDK's message ("Paused sandbox x not found") guesses at a state it does not know.
      if (err instanceof NotFoundError) throw new Error(`sandbox ${id} not found`);
      throw err;
    }
  });
}

/** How often an attached command or shell extends its sandbox's deadline (COVE_CLI_KEEPALIVE_MS). */
export function keepAliveEveryMs(env: NodeJS.ProcessEnv = process.env): number {
  return Number(env.COVE_CLI_KEEPALIVE_MS) || 60_000;
}

/**
 * While a command or shell is attached, keeps the sandbox alive: connect only ever extends the
 * deadline, to five intervals from now (5 minutes by default), so a long session is not cut by
 * the sandbox's own timeout, and once detached the sandbox times out as it would have.
 * Returns the stop function.
 */
export function keepAlive(sbx: Sandbox, everyMs = keepAliveEveryMs()): () => void {
  const timer = setInterval(() => void sbx.connect({ timeoutMs: 5 * everyMs }).catch(() => undefined), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
