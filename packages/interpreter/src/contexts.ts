import { randomUUID } from "node:crypto";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { InterpreterError } from "./errors.js";
import { KernelProcess } from "./kernels/kernel-process.js";
import type { ExecuteRequest, ExecutionSink } from "./kernels/protocol.js";
import { type KernelBinaries, kernelSpec } from "./kernels/specs.js";
import type { Language } from "./language.js";
import type { Logger } from "./logger.js";

/** A context as the SDK sees it. */
export interface ContextInfo {
  id: string;
  language: Language;
  cwd: string;
}

export interface ContextManagerOptions extends KernelBinaries {
  defaultCwd: string;
  log: Logger;
  /** How long an interrupted execution may take to stop before its kernel is killed and restarted. */
  interruptGraceMs?: number;
}

/** What an execution reports when its kernel died under it (E2B's name for it). */
export const UNEXPECTED_END = {
  name: "UnexpectedEndOfExecution",
  value: "The kernel exited before the execution finished; the context starts a new kernel for the next execution",
} as const;

/**
 * One kernel with its own state and cwd. Executions (and restarts) run one
 * at a time, in arrival order, through `queue`.
 */
class Context {
  kernel: KernelProcess | undefined;
  /** Set when the context is removed: no kernel is started for it any more. */
  private removed = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly info: ContextInfo,
    private readonly start: () => Promise<KernelProcess>,
  ) {}

  /** Runs `task` after every task queued before it, even failed ones. */
  serialize<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  async ensureKernel(): Promise<KernelProcess> {
    if (this.kernel?.alive) return this.kernel;
    if (this.removed) throw new InterpreterError("not_found", `Context ${this.info.id} not found`);
    const kernel = await this.start();
    if (this.removed) {
      await kernel.kill();
      throw new InterpreterError("not_found", `Context ${this.info.id} not found`);
    }
    this.kernel = kernel;
    return kernel;
  }

  async stopKernel(): Promise<void> {
    const kernel = this.kernel;
    this.kernel = undefined;
    await kernel?.kill();
  }

  /** Kills the kernel for good. */
  async remove(): Promise<void> {
    this.removed = true;
    await this.stopKernel();
  }
}

export interface ContextManager {
  create(language: Language, cwd: string | undefined): Promise<ContextInfo>;
  list(): ContextInfo[];
  /** The context of an id; not_found if there is none. */
  get(id: string): ContextInfo;
  /** The default context of a language, created on first use. */
  defaultFor(language: Language): Promise<ContextInfo>;
  /**
   * Runs code in a context. Aborting `signal` (the caller went away or timed
   * out) interrupts the kernel; a kernel that does not stop in time, or dies,
   * is restarted so the context stays usable.
   */
  execute(id: string, request: ExecuteRequest, sink: ExecutionSink, signal: AbortSignal): Promise<void>;
  restart(id: string): Promise<void>;
  remove(id: string): Promise<void>;
  close(): Promise<void>;
}

export function createContextManager(options: ContextManagerOptions): ContextManager {
  const contexts = new Map<string, Context>();
  const defaults = new Map<Language, Promise<ContextInfo>>();
  const { log } = options;
  const grace = options.interruptGraceMs ?? 3000;

  function find(id: string): Context {
    const context = contexts.get(id);
    if (context === undefined) throw new InterpreterError("not_found", `Context ${id} not found`);
    return context;
  }

  async function create(language: Language, cwdInput: string | undefined): Promise<ContextInfo> {
    const cwd = resolve(options.defaultCwd, cwdInput || options.defaultCwd);
    const isDir = await stat(cwd).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw new InterpreterError("invalid_argument", `Working directory '${cwd}' does not exist`);
    const info: ContextInfo = { id: randomUUID(), language, cwd };
    const spec = kernelSpec(language, options);
    const context = new Context(info, () => KernelProcess.start({ spec, cwd, log }));
    // Listed while its kernel starts, so close() reaches it too.
    contexts.set(info.id, context);
    try {
      await context.ensureKernel();
    } catch (err) {
      contexts.delete(info.id);
      await context.remove();
      throw err;
    }
    log.info({ context: info.id, language, cwd, pid: context.kernel?.pid }, "context created");
    return info;
  }

  function defaultFor(language: Language): Promise<ContextInfo> {
    let pending = defaults.get(language);
    if (pending === undefined) {
      pending = create(language, undefined);
      defaults.set(language, pending);
      pending.catch(() => defaults.delete(language));
    }
    return pending.then((info) => {
      if (contexts.has(info.id)) return info;
      // The default context was removed: make a new one.
      if (defaults.get(language) === pending) defaults.delete(language);
      return defaultFor(language);
    });
  }

  async function runOnce(context: Context, request: ExecuteRequest, sink: ExecutionSink, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const kernel = await context.ensureKernel();
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      log.info({ context: context.info.id, pid: kernel.pid }, "execution abandoned by its caller: interrupting the kernel");
      kernel.interrupt();
      killTimer = setTimeout(() => {
        log.warn({ context: context.info.id, pid: kernel.pid }, "kernel did not stop after an interrupt: killing it");
        void kernel.kill();
      }, grace);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      const end = await kernel.execute(request, sink);
      if (end === "died") {
        if (!signal.aborted) sink.error(UNEXPECTED_END.name, UNEXPECTED_END.value, "");
        // A fresh kernel for whatever comes next (an execution queued meanwhile may start it first); this one ends now.
        void context
          .serialize(() => context.ensureKernel())
          .catch((err: unknown) => {
            if (!(err instanceof InterpreterError && err.code === "not_found")) log.error({ err, context: context.info.id }, "kernel restart failed");
          });
      }
    } finally {
      clearTimeout(killTimer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  return {
    create,
    list: () => [...contexts.values()].map((c) => ({ ...c.info })),
    get: (id) => ({ ...find(id).info }),
    defaultFor,
    execute(id, request, sink, signal) {
      const context = find(id);
      return context.serialize(() => runOnce(context, request, sink, signal));
    },
    async restart(id) {
      const context = find(id);
      // Not queued: a restart also ends a running execution (its kernel dies under it).
      await context.stopKernel();
      await context.serialize(() => context.ensureKernel());
    },
    async remove(id) {
      const context = find(id);
      contexts.delete(id);
      await context.remove();
    },
    async close() {
      const all = [...contexts.values()];
      contexts.clear();
      await Promise.all(all.map((c) => c.remove()));
    },
  };
}
