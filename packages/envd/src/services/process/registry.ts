import type { ProcessSelector } from "@cove/protocol/process";
import { EnvdError } from "../../errors.js";
import type { ManagedProcess } from "./managed-process.js";

/** Running processes by pid; a process leaves once it ended. One per envd. */
export interface ProcessRegistry {
  add(process: ManagedProcess): void;
  list(): ManagedProcess[];
  /** By pid or tag; not_found "process with pid N not found" when there is none. */
  get(selector: ProcessSelector | undefined): ManagedProcess;
  /** SIGKILLs every process group and waits up to graceMs for them to end. */
  killAll(graceMs: number): Promise<void>;
}

export function createProcessRegistry(): ProcessRegistry {
  const processes = new Map<number, ManagedProcess>();
  return {
    add(process) {
      processes.set(process.pid, process);
      void process.ended.then(() => {
        if (processes.get(process.pid) === process) processes.delete(process.pid);
      });
    },
    list: () => [...processes.values()],
    get(selector) {
      const target = selector?.selector;
      switch (target?.case) {
        case "pid": {
          const found = processes.get(target.value);
          if (!found) throw new EnvdError("not_found", `process with pid ${target.value} not found`);
          return found;
        }
        case "tag": {
          const found = [...processes.values()].find((p) => p.tag === target.value);
          if (!found) throw new EnvdError("not_found", `process with tag ${target.value} not found`);
          return found;
        }
        default:
          throw new EnvdError("invalid_argument", "a process selector (pid or tag) is required");
      }
    },
    async killAll(graceMs) {
      const running = [...processes.values()];
      for (const process of running) process.signal("SIGKILL");
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.all(running.map((p) => p.ended)), grace]);
      clearTimeout(timer);
    },
  };
}
