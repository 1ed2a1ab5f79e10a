import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { EnvdError } from "../../errors.js";
import { endStatus, type EndStatus } from "./end-status.js";
import { helperArgs, type LaunchSpec } from "./launch.js";
import { createManagedProcess, type ManagedProcess } from "./managed-process.js";
import { createOutputHub, type OutputHub, type OutputStream } from "./subscription.js";

/** Largest data event, as upstream envd sends. */
export const MAX_CHUNK_BYTES = 32 * 1024;

/**
 * Starts a process with pipes through cove-exec, in its own process group
 * (detached) so signals reach its children. Synchronous once it returns, so a
 * caller that subscribes right away misses no output.
 */
export function spawnPipeProcess(spec: LaunchSpec, execHelper: string, root: string): ManagedProcess {
  const child = spawn(execHelper, helperArgs(spec, root), {
    detached: true,
    env: spec.env,
    stdio: [spec.stdin ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) {
    // spawn reports why on 'error' later; the reason is an envd fault, not the caller's.
    child.once("error", () => {});
    throw new EnvdError("internal", "failed to start process");
  }
  const hub = createOutputHub();
  forward(child.stdout, "stdout", hub);
  forward(child.stderr, "stderr", hub);
  const stdin = child.stdin;
  // A process that exits without reading its stdin makes writes fail with EPIPE; that is not envd's error.
  stdin?.on("error", () => {});

  const ended = new Promise<EndStatus>((resolve) => {
    // 'close' comes after stdout/stderr drained, so the end event follows all output.
    child.once("close", (code, signal) => {
      const end = endStatus(code, signal);
      hub.publish({ kind: "end", end });
      resolve(end);
    });
  });

  return createManagedProcess({
    hub,
    ended,
    config: spec.config,
    tag: spec.tag,
    io: {
      pid,
      isPty: false,
      writeStdin(data) {
        if (!stdin) throw new EnvdError("failed_precondition", `stdin is not enabled for process with pid ${pid}`);
        if (!stdin.writable) throw new EnvdError("failed_precondition", `stdin of process with pid ${pid} is closed`);
        stdin.write(Buffer.from(data));
      },
      writePty() {
        throw new EnvdError("failed_precondition", `process with pid ${pid} has no pty`);
      },
      closeStdin() {
        stdin?.end();
      },
      resize() {
        throw new EnvdError("failed_precondition", `process with pid ${pid} has no pty to resize`);
      },
    },
  });
}

function forward(stream: Readable | null, name: OutputStream, hub: OutputHub): void {
  if (!stream) return;
  stream.on("data", (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length; offset += MAX_CHUNK_BYTES) {
      hub.publish({ kind: "data", stream: name, data: chunk.subarray(offset, offset + MAX_CHUNK_BYTES) });
    }
  });
  stream.on("error", () => {});
}
