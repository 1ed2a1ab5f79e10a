import type { Command } from "commander";
import { callApi, loadClientConfig, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { collectPairs, connectSandbox, exitWith, keepAlive, localExitCode, waitExitCode } from "./common.js";

interface ExecFlags extends ConnectionFlags {
  cwd?: string;
  user?: string;
  env?: Record<string, string>;
}

const PLAIN = /^[A-Za-z0-9_\-./=:@%+,]+$/;

/**
 * The SDK runs a command line through the sandbox's bash; quoting each word
 * keeps argv semantics (`exec id -- sh -c "a; b"` runs exactly that argv).
 */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((arg) => (PLAIN.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(" ");
}

export function registerSandboxExec(sandbox: Command): void {
  withConnectionOptions(
    sandbox
      .command("exec")
      .argument("<id>", "sandbox to run in")
      .argument("<command...>", "command and arguments, after `--` (use sh -c '...' for pipelines)")
      .usage("[options] <id> -- <command...>")
      .description("run a command in a sandbox, streaming its output; exits with the command's exit code")
      .option("--cwd <dir>", "working directory (default: the user's home)")
      .option("--user <name>", "user to run as (default: the template's)")
      .option("--env <KEY=VALUE>", "environment variable (repeatable)", collectPairs),
  ).action(async (id: string, argv: string[], flags: ExecFlags) => {
    const config = loadClientConfig(flags, process.env);
    const sbx = await connectSandbox(config, id);
    const handle = await callApi(config, () =>
      sbx.commands.run(shellQuote(argv), {
        background: true,
        timeoutMs: 0,
        onStdout: (data) => void process.stdout.write(data),
        onStderr: (data) => void process.stderr.write(data),
        ...(flags.cwd !== undefined ? { cwd: flags.cwd } : {}),
        ...(flags.user !== undefined ? { user: flags.user } : {}),
        ...(flags.env ? { envs: flags.env } : {}),
      }),
    );
    // Ctrl-C stops the remote command too; a second one ends the CLI at once (default handler).
    let interrupted: number | undefined;
    const stop = (signal: NodeJS.Signals) => {
      interrupted = signal === "SIGINT" ? 130 : 143;
      void handle.kill().catch(() => undefined);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    const stopKeepalive = keepAlive(sbx);
    try {
      const code = await callApi(config, () => waitExitCode(() => handle.wait()));
      if (interrupted !== undefined) throw exitWith(interrupted);
      if (code !== 0) throw exitWith(localExitCode(code));
    } finally {
      stopKeepalive();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    }
  });
}
