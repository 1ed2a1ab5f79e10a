import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { InterpreterError } from "../errors.js";
import type { Logger } from "../logger.js";
import { OutputStream } from "./output-stream.js";
import { type ExecuteRequest, type ExecutionEnd, type ExecutionSink, type KernelEvent, parseKernelEvent, startedFirst } from "./protocol.js";

/** How to start one language's kernel and how to phrase a command for it. */
export interface KernelSpec {
  /** For messages and logs: python, javascript, typescript or bash. */
  name: string;
  command: string;
  args: readonly string[];
  env?: Readonly<Record<string, string>>;
  /**
   * Where the kernel reads commands: fd 4 (its stdin is /dev/null, so user
   * code reading stdin cannot take them), or stdin for bash, whose driver
   * reads its script there (each cell's stdin is /dev/null).
   */
  commandsOn: "fd4" | "stdin";
  /** Written to the commands pipe right after the start (the bash kernel's driver functions). */
  init?: string;
  /** The bytes for the commands pipe that make the kernel run `request` and end with `token`. */
  encode(request: ExecuteRequest, token: string, scratch: () => Promise<string>, sequence: number): Promise<string>;
  /** Turns the "done" event into extra output (bash: a failing exit status as an error). */
  onDone?(event: Extract<KernelEvent, { type: "done" }>, sink: ExecutionSink): void;
}

export interface KernelProcessOptions {
  spec: KernelSpec;
  cwd: string;
  log: Logger;
  /** How long a partial output line waits for its newline before it is sent anyway. */
  partialLineMs?: number;
  /** How long the end tokens may lag behind "done" (a program that closed fd 1) before the execution ends anyway. */
  tokenGraceMs?: number;
}

interface Running {
  sink: ExecutionSink;
  stdoutDone: boolean;
  stderrDone: boolean;
  doneSeen: boolean;
  /** Ends the execution once "done" and both tokens are in (or the tokens are overdue). */
  check(): void;
  finish(end: ExecutionEnd): void;
}

const READY_TIMEOUT_MS = 60_000;

/**
 * One kernel child process (protocol.ts). Runs one execution at a time: the
 * caller (a context) serializes them.
 */
export class KernelProcess {
  private readonly child: ChildProcess;
  private readonly commands: Writable;
  private readonly stdout = new OutputStream();
  private readonly stderr = new OutputStream();
  private running: Running | undefined;
  private sequence = 0;
  private partialTimer: NodeJS.Timeout | undefined;
  private stderrTail = "";
  readonly exited: Promise<void>;
  private hasExited = false;
  /** A directory for the files of one execution (bash cells), made on demand and removed when the execution ends. */
  private scratchDir: Promise<string> | undefined;
  private wasReady = false;

  private constructor(
    private readonly options: KernelProcessOptions,
    private readonly onReady: (error?: Error) => void,
  ) {
    const { spec, cwd } = options;
    this.child = spawn(spec.command, [...spec.args], {
      cwd,
      env: { ...process.env, ...spec.env },
      stdio: spec.commandsOn === "stdin" ? ["pipe", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe", "pipe", "pipe"],
      detached: true,
    });
    this.exited = new Promise<void>((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.hasExited = true;
        options.log.info({ pid: this.child.pid, code, signal }, "kernel exited");
        if (!this.wasReady) options.log.error({ pid: this.child.pid, code, signal, stderr: this.stderrTail }, "kernel exited while starting");
        this.onReady(
          new InterpreterError("kernel_failed", `the ${options.spec.name} kernel exited while starting (its output is in the execution server's log)`),
        );
        this.endRunning("died");
        void this.removeScratch();
        resolve();
      });
    });
    this.child.once("error", (err) => {
      options.log.error({ err, command: spec.command }, "kernel failed to start");
      this.onReady(new InterpreterError("kernel_failed", `the ${spec.name} kernel could not be started`, { cause: err }));
    });
    this.commands = (spec.commandsOn === "stdin" ? this.child.stdin : this.child.stdio[4]) as Writable;
    this.commands.on("error", () => undefined);
    (this.child.stdout as Readable).on("data", (chunk: Buffer) => this.stdout.push(chunk));
    (this.child.stderr as Readable).on("data", (chunk: Buffer) => {
      if (this.running === undefined) this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2000);
      this.stderr.push(chunk);
    });
    const events = createInterface({ input: this.child.stdio[3] as Readable, crlfDelay: Infinity });
    events.on("line", (line) => this.onEvent(line));
    if (spec.init) this.commands.write(spec.init);
  }

  /** Starts a kernel and waits until it accepts commands. */
  static async start(options: KernelProcessOptions): Promise<KernelProcess> {
    let settle: (error?: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (error) => (error ? reject(error) : resolve());
    });
    let once = false;
    const kernel = new KernelProcess(options, (error) => {
      if (once) return;
      once = true;
      settle(error);
    });
    const timer = setTimeout(() => settle(new InterpreterError("kernel_failed", "kernel did not become ready in time")), READY_TIMEOUT_MS);
    try {
      await ready;
    } catch (err) {
      await kernel.kill();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return kernel;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.hasExited;
  }

  /** Runs one request; resolves when the kernel finished it or died. */
  async execute(request: ExecuteRequest, output: ExecutionSink): Promise<ExecutionEnd> {
    if (this.running) throw new InterpreterError("internal", "kernel is busy");
    if (this.hasExited) return "died";
    const token = `__cove_end_${randomUUID().replaceAll("-", "")}__`;
    const payload = await this.options.spec.encode(request, token, () => this.scratch(), ++this.sequence);
    const sink = startedFirst(output);
    return await new Promise<ExecutionEnd>((resolve) => {
      let graceTimer: NodeJS.Timeout | undefined;
      const running: Running = {
        sink,
        stdoutDone: false,
        stderrDone: false,
        doneSeen: false,
        check: () => {
          if (running.doneSeen && running.stdoutDone && running.stderrDone) running.finish("done");
          else if (running.doneSeen && graceTimer === undefined) {
            graceTimer = setTimeout(() => running.finish("done"), this.options.tokenGraceMs ?? 5000);
          }
        },
        finish: (end) => {
          if (this.running !== running) return;
          this.running = undefined;
          clearTimeout(graceTimer);
          clearInterval(this.partialTimer);
          this.stdout.end();
          this.stderr.end();
          sink.release();
          void this.removeScratch();
          resolve(end);
        },
      };
      this.running = running;
      this.stdout.begin(
        token,
        (text) => sink.stdout(text),
        () => {
          running.stdoutDone = true;
          running.check();
        },
      );
      this.stderr.begin(
        token,
        (text) => sink.stderr(text),
        () => {
          running.stderrDone = true;
          running.check();
        },
      );
      this.partialTimer = setInterval(() => {
        this.stdout.flushPartial();
        this.stderr.flushPartial();
      }, this.options.partialLineMs ?? 100);
      if (this.hasExited) running.finish("died");
      else this.commands.write(payload);
    });
  }

  /** SIGINT to the kernel's process group: the running code stops as if Ctrl-C was pressed. */
  interrupt(): void {
    this.signalGroup("SIGINT");
  }

  /** Kills the kernel's whole process group and waits for the kernel to exit. */
  async kill(): Promise<void> {
    if (!this.hasExited) this.signalGroup("SIGKILL");
    if (this.child.pid === undefined) {
      // Never started (spawn failed): there is no exit to wait for.
      await this.removeScratch();
      return;
    }
    await this.exited;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.hasExited) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone already
    }
  }

  private scratch(): Promise<string> {
    this.scratchDir ??= mkdtemp(join(tmpdir(), "cove-kernel-"));
    return this.scratchDir;
  }

  private async removeScratch(): Promise<void> {
    const dir = this.scratchDir;
    this.scratchDir = undefined;
    if (dir === undefined) return;
    await dir.then((path) => rm(path, { recursive: true, force: true })).catch(() => undefined);
  }

  private onEvent(line: string): void {
    const event = parseKernelEvent(line);
    if (event === undefined) return;
    if (event.type === "ready") {
      this.wasReady = true;
      this.onReady();
      return;
    }
    const running = this.running;
    if (running === undefined) return;
    switch (event.type) {
      case "started":
        running.sink.started(event.execution_count);
        break;
      case "stream":
        for (const line of String(event.text ?? "").split(/(?<=\n)/)) {
          if (line.length === 0) continue;
          if (event.name === "stderr") running.sink.stderr(line);
          else running.sink.stdout(line);
        }
        break;
      case "result":
        this.stdout.flushPartial();
        running.sink.result(event.data ?? {}, event.main === true);
        break;
      case "error":
        running.sink.error(String(event.name ?? ""), String(event.value ?? ""), String(event.traceback ?? ""));
        break;
      case "done":
        this.options.spec.onDone?.(event, running.sink);
        running.doneSeen = true;
        running.check();
        break;
    }
  }

  private endRunning(end: ExecutionEnd): void {
    this.running?.finish(end);
  }
}
