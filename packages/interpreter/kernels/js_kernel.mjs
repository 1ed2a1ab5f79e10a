// Cove's JavaScript and TypeScript kernel (protocol: src/kernels/protocol.ts).
// Code runs in this process's own global scope, so top-level declarations and
// globals persist between executions; the value of the last expression is the
// main result. TypeScript is turned into JavaScript with node's own type
// stripping (node:module), so only node is needed inside a sandbox.
import { createReadStream, createWriteStream, writeSync } from "node:fs";
import module from "node:module";
import { createInterface } from "node:readline";
import { Writable } from "node:stream";
import { Console } from "node:console";
import { inspect } from "node:util";
import vm from "node:vm";
import { toAsyncCell } from "./js_transform.mjs";

const language = process.argv[2] === "typescript" ? "typescript" : "javascript";
const commands = createInterface({ input: createReadStream("", { fd: 4 }), crlfDelay: Number.POSITIVE_INFINITY });
const events = createWriteStream("", { fd: 3 });
let executionCount = 0;

function emit(event) {
  events.write(`${JSON.stringify(event)}\n`);
}

/** console output as "stream" events, so it keeps its order with results; process.stdout stays the real fd 1. */
function eventStream(name) {
  return new Writable({
    decodeStrings: false,
    write(chunk, _encoding, callback) {
      emit({ type: "stream", name, text: String(chunk) });
      callback();
    },
  });
}
globalThis.console = new Console({ stdout: eventStream("stdout"), stderr: eventStream("stderr") });

// Errors in callbacks and promises nobody awaits must not end the kernel.
process.on("uncaughtException", (err) => console.error(err));
process.on("unhandledRejection", (reason) => console.error(reason));
// SIGINT between executions is ignored; during one, vm's breakOnSigint turns it into an error.
process.on("SIGINT", () => undefined);
globalThis.require = module.createRequire(`${process.cwd()}/`);

function compile(code) {
  if (language !== "typescript") return code;
  return module.stripTypeScriptTypes(code, { mode: "transform" });
}

/** A stack without the kernel's own frames (those below the cell). */
function userStack(err) {
  const lines = (err.stack ?? `${err.name}: ${err.message}`).split("\n");
  const internal = lines.findIndex((line) => /^\s+at .*(node:vm|js_kernel\.mjs|node:internal)/.test(line));
  return (internal === -1 ? lines : lines.slice(0, internal)).join("\n");
}

function errorEvent(err) {
  if (err instanceof Error) {
    return { type: "error", name: err.name, value: err.message, traceback: userStack(err) };
  }
  return { type: "error", name: "Error", value: inspect(err), traceback: inspect(err) };
}

function resultBundle(value) {
  return { "text/plain": typeof value === "string" ? value : inspect(value, { depth: 4 }) };
}

async function execute(command) {
  const saved = {};
  for (const [key, value] of Object.entries(command.env ?? {})) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  executionCount += 1;
  emit({ type: "started", execution_count: executionCount });
  try {
    const source = compile(command.code);
    // `import` and top-level `await` need the cell rewritten (js_transform.mjs); others run as written.
    const script = new vm.Script(toAsyncCell(source) ?? source, {
      filename: `cell-${executionCount}.${language === "typescript" ? "ts" : "js"}`,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    let value = script.runInThisContext({ breakOnSigint: true, displayErrors: false });
    if (value !== null && typeof value === "object" && typeof value.then === "function") value = await value;
    if (value !== undefined) emit({ type: "result", main: true, data: resultBundle(value) });
  } catch (err) {
    emit(errorEvent(err));
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    writeSync(1, command.token);
    writeSync(2, command.token);
    emit({ type: "done" });
  }
}

// One execution at a time, in the order the commands arrive.
let queue = Promise.resolve();
commands.on("line", (line) => {
  const command = JSON.parse(line);
  queue = queue.then(() => execute(command));
});
// The server closed the commands pipe (it exited): end now, whatever timers the user left running.
commands.on("close", () => process.exit(0));
emit({ type: "ready" });
