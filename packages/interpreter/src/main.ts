import { write } from "node:fs";
import { parseArgs } from "node:util";
import { type InterpreterFlags, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { createInterpreterServer } from "./server.js";

const USAGE = `usage: node main.js [--host H] [--port 49999] [--access-token T] [--envd-url URL] [--cwd /home/user]
                    [--python /usr/bin/python3] [--node PATH] [--bash /bin/bash] [--kernels-dir DIR] [--warm python,...] [--log-level info]
Environment: COVE_INTERPRETER_{HOST,PORT,ACCESS_TOKEN,ENVD_URL,CWD,PYTHON,NODE,BASH,KERNELS_DIR,WARM,LOG_LEVEL}; flags win.`;

/** Parses command-line flags; unknown flags fail with the usage text. */
export function parseFlags(argv: readonly string[]): InterpreterFlags {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: "string" },
      port: { type: "string" },
      "access-token": { type: "string" },
      "envd-url": { type: "string" },
      cwd: { type: "string" },
      python: { type: "string" },
      node: { type: "string" },
      bash: { type: "string" },
      "kernels-dir": { type: "string" },
      "log-level": { type: "string" },
      warm: { type: "string" },
    },
    strict: true,
  });
  return {
    host: values.host,
    port: values.port,
    accessToken: values["access-token"],
    envdUrl: values["envd-url"],
    defaultCwd: values.cwd,
    python: values.python,
    node: values.node,
    bash: values.bash,
    kernelsDir: values["kernels-dir"],
    logLevel: values["log-level"],
    warm: values.warm,
  };
}

/**
 * Runs the execution server in the foreground: prints one line containing
 * "listening" once it accepts connections, and exits cleanly (kernels
 * killed) on SIGTERM or SIGINT.
 */
export async function runInterpreter(argv: readonly string[]): Promise<void> {
  const config = loadConfig(parseFlags(argv));
  const log = createLogger(config.logLevel);
  const server = createInterpreterServer(config, { logger: log });
  // Before listening, so a template's ready check (GET /health) passes once the kernels are up.
  for (const language of config.warm) {
    await server.contexts.defaultFor(language).catch((err: unknown) => log.error({ err, language }, "could not start the default context"));
  }
  const address = await server.listen();
  write(1, `interpreter listening on ${address.address}:${address.port}\n`, () => undefined);
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, "shutting down");
      server.close().then(resolve, resolve);
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

if (import.meta.main) {
  runInterpreter(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exitCode = 1;
  });
}
