import { write } from "node:fs";
import { loadConfig, type EnvdFlags } from "./config.js";
import { createLogger } from "./logger.js";
import { createEnvdServer } from "./server.js";

/**
 * Runs envd in the foreground: prints one line containing "listening" once it
 * accepts connections, and exits cleanly on SIGTERM or SIGINT.
 */
export async function runEnvd(flags: EnvdFlags = {}): Promise<void> {
  tolerateBrokenStdio();
  const config = loadConfig(flags);
  const log = createLogger({ level: config.logLevel });
  const server = createEnvdServer(config, { logger: log });
  const address = await server.listen();
  announce(`envd ${config.version} listening on ${address.address}:${address.port}\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, "shutting down");
      server.close().then(resolve, resolve);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  log.flush();
}

/**
 * stdout and stderr may be pipes whose reader is gone (EPIPE) or full. Node
 * writes process.stdout/stderr synchronously when they are pipes and raises
 * an uncaught 'error' on EPIPE; whatever still writes there (Node's own
 * warnings) must lose the text, not the process.
 */
function tolerateBrokenStdio(): void {
  process.stdout.on("error", () => undefined);
  process.stderr.on("error", () => undefined);
}

/**
 * Writes the "listening" line to fd 1 on the thread pool, not through
 * process.stdout: a full pipe then cannot stall the event loop, and a failed
 * write (EPIPE, EAGAIN) only loses the line.
 */
function announce(line: string): void {
  write(1, line, () => undefined);
}
