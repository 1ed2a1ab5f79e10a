import { closeSync, constants, fstatSync, openSync, readSync, renameSync, writeSync } from "node:fs";
import { lstat } from "node:fs/promises";
import { Socket } from "node:net";
import { NodeError } from "../../errors.js";
import { CommandError, runCommand } from "../../exec/run-command.js";
import type { Spawner } from "@cove/protocol/spawner";

export interface SandboxLogLimits {
  /** Size at which the log is rotated (one older generation, `<log>.1`, is kept). */
  maxBytes: number;
  /** Sustained bytes per second the node takes from a sandbox. */
  bytesPerSecond: number;
  /** What a sandbox may write at once before the rate applies (start-up output, a burst of errors). */
  burstBytes: number;
}

export const defaultLogLimits: SandboxLogLimits = { maxBytes: 1024 * 1024, bytesPerSecond: 64 * 1024, burstBytes: 512 * 1024 };

/**
 * The output of a sandbox's init (tini, envd) on its way to the host. The sandbox writes into a
 * FIFO, never into a host file: a file it holds open would take whatever root inside writes
 * through /proc/1/fd/1, unbounded. The node reads the FIFO into a capped, rotated log.
 *
 * The node opens the FIFO read-write, so the pipe always has a reader while the node lives (no
 * EOF, no SIGPIPE for the sandbox) and a restarted node just opens it again and carries on; what
 * was written meanwhile waits in the pipe, and while no node reads, writers get EPIPE.
 *
 * A sandbox that writes faster than its budget is read slower: the node stops reading until the
 * budget refills, the pipe fills, and the flooding writer blocks. That costs the node neither CPU
 * nor disk, and only the flooding sandbox waits.
 */
export interface SandboxLog {
  /** The FIFO the sandbox's stdout and stderr are opened on. */
  readonly fifo: string;
  /** Bytes read so far; a mark for `textSince`. */
  mark(): number;
  /** Reads what is in the pipe now, past any pause (for the runtime's own error output after it exited). */
  drain(): void;
  /** Output read since `mark`, as far as the last 16 KiB kept in memory reach. */
  textSince(mark: number): string;
  /** Stops reading and closes the FIFO and the log. Idempotent. */
  close(): void;
}

const tailKeep = 16 * 1024;

/** Makes the FIFO if it is not there (a restarted node finds the old one) and starts reading it into `logFile`. */
export async function openSandboxLog(fifo: string, logFile: string, limits: SandboxLogLimits = defaultLogLimits, spawner?: Spawner): Promise<SandboxLog> {
  await ensureFifo(fifo, spawner);
  let out = openSync(logFile, "a", 0o600);
  let size = fstatSync(out).size;
  let fd: number;
  try {
    // O_NONBLOCK applies to the node's own open only: the sandbox's write end is a separate open.
    fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  } catch (err) {
    closeSync(out);
    throw err;
  }
  const socket = new Socket({ fd, readable: true, writable: false });
  let total = 0;
  let tail = Buffer.alloc(0);
  let tokens = limits.burstBytes;
  let refilledAt = Date.now();
  let resumeTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const write = (chunk: Buffer) => {
    total += chunk.length;
    tail = tail.length + chunk.length > tailKeep ? Buffer.concat([tail, chunk]).subarray(-tailKeep) : Buffer.concat([tail, chunk]);
    // A log that cannot be written (host disk full) loses output; it must not take the node down.
    try {
      if (size + chunk.length > limits.maxBytes && size > 0) {
        renameSync(logFile, `${logFile}.1`);
        const next = openSync(logFile, "a", 0o600);
        closeSync(out);
        out = next;
        size = 0;
      }
      size += writeSync(out, chunk);
    } catch {
      // dropped
    }
  };

  const onData = (chunk: Buffer) => {
    if (closed) return;
    write(chunk);
    const now = Date.now();
    tokens = Math.min(limits.burstBytes, tokens + ((now - refilledAt) / 1000) * limits.bytesPerSecond);
    refilledAt = now;
    tokens -= chunk.length;
    if (tokens < 0 && !resumeTimer) {
      socket.pause();
      resumeTimer = setTimeout(
        () => {
          resumeTimer = undefined;
          if (!closed) socket.resume();
        },
        Math.ceil((-tokens / limits.bytesPerSecond) * 1000),
      );
      resumeTimer.unref();
    }
  };
  socket.on("data", onData);
  // A read error on a FIFO we hold read-write has no cause we could act on: stop reading, keep the node up.
  socket.on("error", () => socket.destroy());

  return {
    fifo,
    mark: () => total,
    drain() {
      if (closed) return;
      // What the stream already holds comes first; read() hands each chunk to onData through 'data'.
      while (socket.read() !== null);
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        let n = 0;
        try {
          n = readSync(fd, buf);
        } catch {
          break; // EAGAIN: the pipe is empty
        }
        if (n === 0) break;
        write(Buffer.from(buf.subarray(0, n)));
      }
    },
    textSince(mark) {
      const since = total - mark;
      return tail.subarray(Math.max(0, tail.length - since)).toString("utf8");
    },
    close() {
      if (closed) return;
      closed = true;
      if (resumeTimer) clearTimeout(resumeTimer);
      socket.destroy();
      closeSync(out);
    },
  };
}

async function ensureFifo(path: string, spawner?: Spawner): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (st?.isFIFO()) return;
  if (st) throw new NodeError("runtime_failed", `${path} exists and is not a FIFO`);
  // Node.js has no mkfifo(3); coreutils' mkfifo is the one file operation here that needs a child.
  try {
    await runCommand(["mkfifo", "-m", "600", path], { timeoutMs: 10_000, ...(spawner ? { spawner } : {}) });
  } catch (err) {
    const detail = err instanceof CommandError ? err.stderr.trim() || err.message : String(err);
    throw new NodeError("runtime_failed", `mkfifo ${path} failed: ${detail}`, { cause: err });
  }
}
