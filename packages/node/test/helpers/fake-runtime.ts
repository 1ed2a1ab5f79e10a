import { NodeError } from "../../src/errors.js";
import type { SandboxLimits } from "../../src/runtime/container/oci-spec.js";
import type { RuntimeSandboxSpec, RuntimeSandboxState, RuntimeStatus, SandboxRuntime } from "../../src/runtime/runtime.js";
import type { Gate } from "./gate.js";

type Op = "create" | "start" | "pause" | "resume" | "update" | "kill" | "adopt";

/**
 * An in-memory SandboxRuntime: containers are entries in a map. Every call is logged as
 * "op:id" when it begins and "op:id:done" when it ends; tests can hold an operation at a gate,
 * make the next one fail, or make a container die.
 */
export interface FakeRuntime extends SandboxRuntime {
  readonly calls: string[];
  readonly containers: Map<string, RuntimeStatus>;
  readonly specs: Map<string, RuntimeSandboxSpec>;
  readonly updates: Array<{ sandboxId: string; limits: SandboxLimits }>;
  /** The next `op` (on any sandbox) waits for the gate before it acts. */
  holdNext(op: Op, gate: Gate): void;
  /** Every `op` from now on waits for the gate (once open, they pass). */
  holdAll(op: Op, gate: Gate): void;
  /** The next `op` throws. */
  failNext(op: Op, message?: string): void;
  /** The sandbox's init exits: its container is gone from the runtime's list. */
  crash(sandboxId: string): void;
  closed: boolean;
  destroyed: boolean;
}

export function createFakeRuntime(): FakeRuntime {
  const calls: string[] = [];
  const containers = new Map<string, RuntimeStatus>();
  const specs = new Map<string, RuntimeSandboxSpec>();
  const updates: Array<{ sandboxId: string; limits: SandboxLimits }> = [];
  const holds = new Map<Op, Gate>();
  const holdsAll = new Map<Op, Gate>();
  const failures = new Map<Op, string>();

  const op = async (name: Op, id: string, act: () => void) => {
    calls.push(`${name}:${id}`);
    const gate = holds.get(name);
    const all = holdsAll.get(name);
    if (gate) {
      holds.delete(name);
      await gate.promise;
    } else if (all) {
      await all.promise;
    } else {
      await Promise.resolve();
    }
    const failure = failures.get(name);
    if (failure !== undefined) {
      failures.delete(name);
      calls.push(`${name}:${id}:failed`);
      throw new NodeError("runtime_failed", failure);
    }
    act();
    calls.push(`${name}:${id}:done`);
  };
  const need = (id: string) => {
    if (!containers.has(id)) throw new NodeError("not_found", `container ${id} does not exist`);
  };

  const fake: FakeRuntime = {
    description: "fake 1.0",
    calls,
    containers,
    specs,
    updates,
    closed: false,
    destroyed: false,
    holdNext: (name, gate) => void holds.set(name, gate),
    holdAll: (name, gate) => void holdsAll.set(name, gate),
    failNext: (name, message = `fake ${name} failed`) => void failures.set(name, message),
    crash: (id) => void containers.delete(id),
    create: (spec) =>
      op("create", spec.sandboxId, () => {
        containers.set(spec.sandboxId, "created");
        specs.set(spec.sandboxId, spec);
      }),
    start: (id) =>
      op("start", id, () => {
        need(id);
        containers.set(id, "running");
      }),
    pause: (id) =>
      op("pause", id, () => {
        need(id);
        containers.set(id, "paused");
      }),
    resume: (id) =>
      op("resume", id, () => {
        need(id);
        containers.set(id, "running");
      }),
    update: (id, limits) =>
      op("update", id, () => {
        need(id);
        updates.push({ sandboxId: id, limits });
      }),
    kill: (id) => op("kill", id, () => void containers.delete(id)),
    adopt: (out) => op("adopt", out.sandboxId, () => need(out.sandboxId)),
    async inspect(id): Promise<RuntimeSandboxState | undefined> {
      const status = containers.get(id);
      return status === undefined ? undefined : { sandboxId: id, status };
    },
    async list() {
      return [...containers].map(([sandboxId, status]) => ({ sandboxId, status }));
    },
    close() {
      fake.closed = true;
    },
    async destroy() {
      fake.destroyed = true;
    },
  };
  return fake;
}
