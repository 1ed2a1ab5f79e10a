// Entry point of the portable bundle (build/runtime/envd.js): parses envd's
// flags from argv and runs it in the foreground. Kept free of the CLI package
// so the bundle carries only envd.
import { parseArgs } from "node:util";
import { runEnvd } from "../src/main.js";

const USAGE =
  "usage: envd.js [--port N] [--host ADDR] [--root DIR] [--access-token TOKEN]\n" +
  "               [--default-user NAME] [--default-workdir DIR] [--log-level LEVEL]\n";

function parseFlags(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      root: { type: "string" },
      "access-token": { type: "string" },
      "default-user": { type: "string" },
      "default-workdir": { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean" },
    },
  });
  return {
    help: values.help === true,
    flags: {
      port: values.port,
      host: values.host,
      root: values.root,
      accessToken: values["access-token"],
      defaultUser: values["default-user"],
      defaultWorkdir: values["default-workdir"],
      logLevel: values["log-level"],
    },
  };
}

async function main(): Promise<void> {
  const { help, flags } = parseFlags(process.argv.slice(2));
  if (help) process.stdout.write(USAGE);
  else await runEnvd(flags);
}

// No top-level await: the bundle is CommonJS (see bundle.mjs).
main().catch((err: unknown) => {
  process.stderr.write(`envd: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exitCode = 2;
});
