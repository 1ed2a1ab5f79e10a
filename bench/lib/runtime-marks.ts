// Timestamps of the OCI runtime's create and start for each sandbox a node boots.
import { performance } from "node:perf_hooks";
import type { SandboxRuntime } from "../../packages/node/src/runtime/runtime.js";

export interface RuntimeMarks {
  createStart: number;
  createEnd?: number;
  startStart?: number;
  startEnd?: number;
}

export interface MarkedRuntime {
  marks(sandboxId: string): RuntimeMarks | undefined;
}

/**
 * Wraps `runtime.create` and `runtime.start` in place to record when they
 * ran (performance.now()). The sandbox manager holds this same object
 * (RunningNode.sandboxRuntime), so the real create path is timed without a
 * change to the node; the wrappers add two clock reads per call.
 */
export function markRuntime(runtime: SandboxRuntime): MarkedRuntime {
  const marks = new Map<string, RuntimeMarks>();
  const create = runtime.create.bind(runtime);
  const start = runtime.start.bind(runtime);
  runtime.create = async (spec) => {
    const mark: RuntimeMarks = { createStart: performance.now() };
    marks.set(spec.sandboxId, mark);
    await create(spec);
    mark.createEnd = performance.now();
  };
  runtime.start = async (sandboxId) => {
    const mark = marks.get(sandboxId);
    if (mark) mark.startStart = performance.now();
    await start(sandboxId);
    if (mark) mark.startEnd = performance.now();
  };
  return { marks: (id) => marks.get(id) };
}
