import type { Command } from "commander";
import { callApi, describeApiError, loadClientConfig, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { collectPairs, connectSandbox, exitWith, keepAlive, localExitCode, waitExitCode } from "./common.js";

interface ShellFlags extends ConnectionFlags {
  cwd?: string;
  user?: string;
  env?: Record<string, string>;
}

const EXIT_ON_SIGNAL: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
/** Ctrl-D: what a terminal sends at end of input, so piped input ends the shell like a closed terminal would. */
const EOT = Uint8Array.of(4);

function terminalSize(): { cols: number; rows: number } {
  const out = process.stdout;
  return out.isTTY ? { cols: out.columns || 80, rows: out.rows || 24 } : { cols: 80, rows: 24 };
}

export function registerSandboxShell(sandbox: Command): void {
  withConnectionOptions(
    sandbox
      .command("shell")
      .argument("<id>", "sandbox to open a shell in")
      .description("interactive login shell in a sandbox through a terminal (PTY); exits with the shell's exit code")
      .option("--cwd <dir>", "working directory (default: the user's home)")
      .option("--user <name>", "user to log in as (default: the template's)")
      .option("--env <KEY=VALUE>", "environment variable (repeatable)", collectPairs),
  ).action(async (id: string, flags: ShellFlags) => {
    const config = loadClientConfig(flags, process.env);
    const sbx = await connectSandbox(config, id);
    const handle = await callApi(config, () =>
      sbx.pty.create({
        ...terminalSize(),
        timeoutMs: 0,
        onData: (data) => void process.stdout.write(data),
        ...(flags.cwd !== undefined ? { cwd: flags.cwd } : {}),
        ...(flags.user !== undefined ? { user: flags.user } : {}),
        ...(flags.env ? { envs: flags.env } : {}),
      }),
    );

    // Input and resizes go out one at a time, in order; the first failure ends the session.
    let closed = false;
    let failure: unknown;
    let queue = Promise.resolve();
    const enqueue = (step: () => Promise<void>) => {
      queue = queue
        .then(() => (closed || failure !== undefined ? undefined : step()))
        .catch((err: unknown) => {
          if (closed || failure !== undefined) return;
          failure = err;
          void handle.kill().catch(() => undefined);
        });
    };
    let signalled: number | undefined;

    const stdin = process.stdin;
    const raw = stdin.isTTY === true;
    const onInput = (chunk: Buffer) => enqueue(() => sbx.pty.sendInput(handle.pid, chunk));
    const onEnd = () => enqueue(() => sbx.pty.sendInput(handle.pid, EOT));
    const onResize = () => enqueue(() => sbx.pty.resize(handle.pid, terminalSize()));
    const onSignal = (signal: NodeJS.Signals) => {
      signalled = EXIT_ON_SIGNAL[signal] ?? 1;
      void handle.kill().catch(() => undefined);
    };

    const stopKeepalive = keepAlive(sbx);

    if (raw) stdin.setRawMode(true);
    stdin.on("data", onInput);
    stdin.on("end", onEnd);
    if (process.stdout.isTTY) process.on("SIGWINCH", onResize);
    for (const signal of Object.keys(EXIT_ON_SIGNAL) as NodeJS.Signals[]) process.once(signal, onSignal);
    let code: number;
    try {
      code = await callApi(config, () => waitExitCode(() => handle.wait()));
    } finally {
      closed = true;
      stopKeepalive();
      stdin.off("data", onInput);
      stdin.off("end", onEnd);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      process.off("SIGWINCH", onResize);
      for (const signal of Object.keys(EXIT_ON_SIGNAL) as NodeJS.Signals[]) process.off(signal, onSignal);
    }
    if (failure !== undefined) throw describeApiError(failure, config);
    if (signalled !== undefined) throw exitWith(signalled);
    if (code !== 0) throw exitWith(localExitCode(code));
  });
}
