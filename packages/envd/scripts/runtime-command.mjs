// The one way to start the portable envd runtime (build/runtime). The target
// root may have no shell, so this is an argv, not a script: the bundled glibc
// loader runs the bundled node against the bundled libraries.

/**
 * Node flags the runtime starts with: none. Any V8 flag makes V8 reject Node's
 * embedded code cache (+40-50 ms at start) and none we measured cut idle
 * memory by more than 2 MB; see "Knobs tried" in docs/benchmarks.md.
 */
export const RUNTIME_NODE_FLAGS = [];

/**
 * argv that starts envd from the runtime folder `rt` (as seen inside the
 * target root, e.g. "/.cove") with envd flags `envdArgs` (e.g. ["--port", "49983"]).
 * `nodeFlags` replaces RUNTIME_NODE_FLAGS (the benchmark compares sets).
 */
export function runtimeCommand(rt, envdArgs = [], nodeFlags = RUNTIME_NODE_FLAGS) {
  return [`${rt}/lib/ld-linux-x86-64.so.2`, "--library-path", `${rt}/lib`, `${rt}/node`, ...nodeFlags, `${rt}/envd.js`, ...envdArgs];
}
