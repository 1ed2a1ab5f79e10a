import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Language } from "../language.js";
import type { KernelSpec } from "./kernel-process.js";
import type { ExecuteRequest } from "./protocol.js";

export interface KernelBinaries {
  pythonBinary: string;
  nodeBinary: string;
  bashBinary: string;
  kernelsDir: string;
}

/** A command for the python and javascript kernels: one JSON line. */
function jsonCommand(request: ExecuteRequest, token: string): Promise<string> {
  return Promise.resolve(`${JSON.stringify({ code: request.code, env: request.env, token })}\n`);
}

export function kernelSpec(language: Language, binaries: KernelBinaries): KernelSpec {
  switch (language) {
    case "python":
      return {
        name: language,
        command: binaries.pythonBinary,
        args: ["-u", join(binaries.kernelsDir, "python_kernel.py")],
        env: { PYTHONIOENCODING: "utf-8" },
        commandsOn: "fd4",
        encode: jsonCommand,
      };
    case "javascript":
    case "typescript":
      return {
        name: language,
        command: binaries.nodeBinary,
        args: ["--no-warnings", join(binaries.kernelsDir, "js_kernel.mjs"), language],
        commandsOn: "fd4",
        encode: jsonCommand,
      };
    case "bash":
      return bashSpec(binaries.bashBinary);
  }
}

/**
 * The bash kernel is one bash reading driver commands on stdin. Each cell is
 * a file sourced by the driver function, so `cd`, variables and functions
 * persist; its stdin is /dev/null. SIGINT is trapped, so an interrupt stops
 * the command in the foreground and bash itself lives on. A cell whose last
 * command fails reports an error named "" with the exit status as its value,
 * as Jupyter's bash kernel does.
 */
const BASH_DRIVER = `__cove_n=0
__cove_run() {
  __cove_n=$((__cove_n + 1))
  printf '{"type":"started","execution_count":%d}\\n' "$__cove_n" >&3
  . "$3"
  . "$1" </dev/null
  __cove_status=$?
  . "$4"
  printf '%s' "$2"
  printf '%s' "$2" >&2
  printf '{"type":"done","status":%d}\\n' "$__cove_status" >&3
}
trap : INT
printf '{"type":"ready"}\\n' >&3
`;

function bashSpec(bashBinary: string): KernelSpec {
  return {
    name: "bash",
    command: bashBinary,
    args: ["--noprofile", "--norc"],
    commandsOn: "stdin",
    init: BASH_DRIVER,
    async encode(request, token, scratch, sequence) {
      const scratchDir = await scratch();
      const cell = join(scratchDir, `cell-${sequence}.sh`);
      const setEnv = join(scratchDir, `env-${sequence}.sh`);
      const resetEnv = join(scratchDir, `unenv-${sequence}.sh`);
      const names = Object.keys(request.env);
      await writeFile(cell, request.code);
      await writeFile(
        setEnv,
        names.map((name) => `__cove_saved_${name}=\${${name}-__cove_unset__}; export ${name}=${shellQuote(request.env[name]!)}\n`).join(""),
      );
      await writeFile(
        resetEnv,
        names
          .map(
            (name) =>
              `if [ "$__cove_saved_${name}" = __cove_unset__ ]; then unset ${name}; else export ${name}="$__cove_saved_${name}"; fi; unset __cove_saved_${name}\n`,
          )
          .join(""),
      );
      return `__cove_run ${shellQuote(cell)} ${token} ${shellQuote(setEnv)} ${shellQuote(resetEnv)}\n`;
    },
    onDone(event, sink) {
      if (event.status !== undefined && event.status !== 0) sink.error("", String(event.status), "");
    },
  };
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
