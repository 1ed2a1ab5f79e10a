import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { constants as osConstants } from "node:os";
import type { Socket } from "node:net";

/** How one command is started. */
export interface StartOptions {
  /** Written to stdin, which is then closed. Without it or `streamStdin`, stdin is /dev/null. */
  input?: string | Buffer;
  /** stdin stays a pipe: feed it with `writeStdin`, end it with `closeStdin`. */
  streamStdin?: boolean;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr both go to this file (a FIFO the node reads), not to the caller. */
  outputPath?: string;
  /** Its own session and process group: a Ctrl-C aimed at the node does not reach it. */
  setsid?: boolean;
  /** Output as it arrives (not called with `outputPath`). */
  onOutput?: (stream: "stdout" | "stderr", chunk: Buffer) => void;
}

export interface CommandExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartedCommand {
  /** Resolves once the command runs, before any of its output; rejects with SpawnFailure if it never started. */
  pid: Promise<number>;
  /** Resolves once the command exited and its output is delivered; rejects with SpawnFailure if it never started. */
  exited: Promise<CommandExit>;
  kill(signal: NodeJS.Signals): void;
  /** With `streamStdin`: queues bytes for its stdin (dropped once stdin is closed or the command is gone). */
  writeStdin(data: Uint8Array): void;
  /** With `streamStdin`: closes its stdin after what was written. */
  closeStdin(): void;
}

/** The command did not start; `errno` names why (ENOENT: not installed). */
export class SpawnFailure extends Error {
  override readonly name = "SpawnFailure";
  constructor(
    readonly errno: string,
    options?: { cause?: unknown },
  ) {
    super(`spawn failed: ${errno}`, options);
  }
}

/** Starts commands: Node's child_process, or a cove-spawn helper. */
export interface Spawner {
  start(argv: readonly string[], options: StartOptions): StartedCommand;
  /** Starts the helper, if any, ahead of the first command. */
  prepare(): void;
  /** Stops the helper, if any, once the commands it runs have finished (and reported); the next start starts a new one. */
  close(): void;
}

/** Node's own child_process: forks the calling process, so its cost grows with the caller's memory. */
export const childProcessSpawner: Spawner = {
  prepare() {},
  start(argv, o) {
    const [cmd = "", ...args] = argv;
    const fd = o.outputPath === undefined ? undefined : openSync(o.outputPath, constants.O_WRONLY);
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        stdio: [o.input === undefined && !o.streamStdin ? "ignore" : "pipe", fd ?? "pipe", fd ?? "pipe"],
        ...(o.env ? { env: o.env } : {}),
        ...(o.setsid ? { detached: true } : {}),
      });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    child.stdout?.on("data", (d: Buffer) => o.onOutput?.("stdout", d));
    child.stderr?.on("data", (d: Buffer) => o.onOutput?.("stderr", d));
    const stdin = child.stdin;
    // EPIPE if the command exits before reading its input; its exit code tells the real story.
    stdin?.on("error", () => {});
    if (stdin && !o.streamStdin) stdin.end(o.input);
    const exited = new Promise<CommandExit>((resolve, reject) => {
      child.once("error", (err: NodeJS.ErrnoException) => reject(new SpawnFailure(err.code ?? "unknown", { cause: err })));
      child.once("close", (code, signal) => resolve({ code, signal }));
    });
    const pid = child.pid !== undefined ? Promise.resolve(child.pid) : exited.then(() => Promise.reject(new SpawnFailure("unknown")));
    pid.catch(() => {});
    return {
      pid,
      exited,
      kill: (signal) => child.kill(signal),
      writeStdin(data) {
        if (o.streamStdin && stdin?.writable) stdin.write(data);
      },
      closeStdin() {
        if (o.streamStdin) stdin?.end();
      },
    };
  },
  close() {},
};

const REQ_SPAWN = 1;
const REQ_KILL = 2;
const REQ_STDIN = 3;
const REQ_CLOSE_STDIN = 4;
const EV_STDOUT = 1;
const EV_STDERR = 2;
const EV_EXIT = 3;
const EV_FAILED = 4;
const EV_STARTED = 5;
const F_ENV = 1;
const F_OUTPATH = 2;
const F_SETSID = 4;
const F_INPUT = 8;
const F_STDIN_STREAM = 16;
const STDIN_FRAME_BYTES = 1 << 20;

const errnoNames = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
const signalNames = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

interface Pending {
  /** The helper that runs it: only that one's death fails it. */
  helper: ChildProcess;
  onOutput: StartOptions["onOutput"];
  started(pid: number): void;
  resolve(exit: CommandExit): void;
  reject(err: SpawnFailure): void;
}

function frame(id: number, op: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(9);
  head.writeUInt32LE(5 + body.length, 0);
  head.writeUInt32LE(id, 4);
  head.writeUInt8(op, 8);
  return Buffer.concat([head, body]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

const cstrings = (list: readonly string[]) => list.map((s) => Buffer.from(`${s}\0`));

/** The request that starts argv under the helper (the frame layout is documented in cove-spawn.c). */
export function encodeSpawn(id: number, argv: readonly string[], o: StartOptions): Buffer {
  const env = o.env ? Object.entries(o.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`])) : undefined;
  const flags =
    (env ? F_ENV : 0) |
    (o.outputPath !== undefined ? F_OUTPATH : 0) |
    (o.setsid ? F_SETSID : 0) |
    (o.input !== undefined ? F_INPUT : o.streamStdin ? F_STDIN_STREAM : 0);
  return frame(id, REQ_SPAWN, [
    Buffer.from([flags]),
    u32(argv.length),
    ...cstrings(argv),
    ...(env ? [u32(env.length), ...cstrings(env)] : []),
    ...(o.outputPath !== undefined ? cstrings([o.outputPath]) : []),
    ...(o.input !== undefined ? [Buffer.from(o.input)] : []),
  ]);
}

/**
 * Starts commands through `cove-spawn` (packages/protocol/native/cove-spawn.c), a small helper the
 * node keeps running: its fork is cheap, and the node's event loop never stops for one.
 * The helper starts with the first command and again after it died (its commands then fail).
 */
export function createHelperSpawner(binary: string): Spawner {
  let helper: ChildProcess | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const hold = (busy: boolean) => {
    // While commands run, the helper's pipe keeps the event loop alive; idle, it must not.
    const out = helper?.stdout as Socket | null | undefined;
    if (busy) out?.ref();
    else out?.unref();
  };

  const onEvent = (id: number, type: number, payload: Buffer) => {
    const p = pending.get(id);
    if (!p) return;
    if (type === EV_STARTED) {
      p.started(payload.readInt32LE(0));
      return;
    }
    if (type === EV_STDOUT || type === EV_STDERR) {
      p.onOutput?.(type === EV_STDOUT ? "stdout" : "stderr", payload);
      return;
    }
    pending.delete(id);
    if (pending.size === 0) hold(false);
    if (type === EV_EXIT) {
      const code = payload.readInt32LE(0);
      const signal = payload.readInt32LE(4);
      p.resolve({ code: code < 0 ? null : code, signal: signal === 0 ? null : (signalNames.get(signal) ?? null) });
    } else if (type === EV_FAILED) {
      const errno = payload.readInt32LE(0);
      p.reject(new SpawnFailure(errnoNames.get(errno) ?? `errno ${errno}`));
    }
  };

  /** Splits one helper's stdout into frames (each helper has its own: an old one may still be finishing). */
  const frameReader = () => {
    let buffered: Buffer = Buffer.alloc(0);
    return (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const len = buffered.readUInt32LE(0);
        if (buffered.length < 4 + len) break;
        onEvent(buffered.readUInt32LE(4), buffered.readUInt8(8), buffered.subarray(9, 4 + len));
        buffered = buffered.subarray(4 + len);
      }
    };
  };

  const ensure = (): ChildProcess => {
    if (helper && helper.exitCode === null && helper.signalCode === null) return helper;
    const child = spawn(binary, [], { stdio: ["pipe", "pipe", "inherit"] });
    child.stdout!.on("data", frameReader());
    child.stdin!.on("error", () => {});
    // Idle, the helper keeps nothing alive: only running commands hold the event loop (see hold).
    child.unref();
    (child.stdin as Socket).unref();
    (child.stdout as Socket).unref();
    const lost = (why: string) => {
      if (helper === child) helper = undefined;
      for (const [id, p] of pending) {
        if (p.helper !== child) continue;
        pending.delete(id);
        p.reject(new SpawnFailure(why));
      }
      if (pending.size === 0) hold(false);
    };
    child.once("error", (err: NodeJS.ErrnoException) => lost(err.code ?? "EHELPER"));
    child.once("exit", () => lost("EHELPER"));
    helper = child;
    return child;
  };

  return {
    start(argv, o) {
      const id = nextId;
      nextId = nextId >= 0xffff_fff0 ? 1 : nextId + 1;
      const child = ensure();
      let started: (pid: number) => void = () => {};
      let failed: (err: SpawnFailure) => void = () => {};
      const pid = new Promise<number>((resolve, reject) => {
        started = resolve;
        failed = reject;
      });
      pid.catch(() => {});
      const exited = new Promise<CommandExit>((resolve, reject) => {
        const onOutput = o.outputPath === undefined ? o.onOutput : undefined;
        const rejectBoth = (err: SpawnFailure) => {
          failed(err);
          reject(err);
        };
        pending.set(id, { helper: child, onOutput, started, resolve, reject: rejectBoth });
      });
      hold(true);
      child.stdin!.write(encodeSpawn(id, argv, o));
      // Requests about this command go to the helper that runs it, and only while it runs.
      const send = (op: number, parts: Buffer[]) => {
        if (pending.has(id)) child.stdin?.write(frame(id, op, parts));
      };
      return {
        pid,
        exited,
        kill(signal) {
          if (pending.has(id)) child.stdin?.write(frame(id, REQ_KILL, [u32(osConstants.signals[signal])]));
        },
        writeStdin(data) {
          if (!o.streamStdin) return;
          // Frames of at most 1 MiB: the helper bounds a request's size.
          for (let at = 0; at < data.length; at += STDIN_FRAME_BYTES) {
            send(REQ_STDIN, [Buffer.from(data.buffer, data.byteOffset + at, Math.min(STDIN_FRAME_BYTES, data.length - at))]);
          }
        },
        closeStdin() {
          if (o.streamStdin) send(REQ_CLOSE_STDIN, []);
        },
      };
    },
    prepare() {
      ensure();
    },
    close() {
      helper?.stdin?.end();
      helper = undefined;
    },
  };
}
