import { loadConfig, type EnvdFlags } from "./config.js";
import { createLogger } from "./logger.js";
import { createEnvdServer } from "./server.js";

/**
 * Runs envd in the foreground: prints one line containing "listening" once it
 * accepts connections, and exits cleanly on SIGTERM or SIGINT.
 */
export async function runEnvd(flags: EnvdFlags = {}): Promise<void> {
  const config = loadConfig(flags);
  const log = createLogger({ level: config.logLevel });
  const server = createEnvdServer(config, { logger: log });
  const address = await server.listen();
  process.stdout.write(`envd ${config.version} listening on ${address.address}:${address.port}\n`);
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
