// Entry point of the bundled server (build/runtime/server.js), which the code-interpreter
// template runs inside sandboxes on the node of /.cove: the kernels sit beside it.
import { join } from "node:path";
import { runInterpreter } from "../src/main.js";

// A --kernels-dir on the command line comes later and wins.
runInterpreter(["--kernels-dir", join(__dirname, "kernels"), ...process.argv.slice(2)]).catch((err: unknown) => {
  process.stderr.write(`interpreter: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
