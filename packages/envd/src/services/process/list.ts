import type { ProcessRegistry } from "./registry.js";

/** List: running processes with the config they were started with. */
export function createList(registry: ProcessRegistry) {
  return async function list() {
    return {
      processes: registry.list().map((process) => ({ pid: process.pid, tag: process.tag, config: process.config })),
    };
  };
}
