import type { Spawner } from "@cove/protocol/spawner";
import { EnvdError } from "../../errors.js";
import { endStatus, type EndStatus } from "./end-status.js";
import { helperArgs, type LaunchSpec } from "./launch.js";
import { createManagedProcess, type ManagedProcess } from "./managed-process.js";
import { createOutputHub, type OutputHub, type OutputStream, type Subscription } from "./subscription.js";

/** Largest data event, as upstream envd sends. */
export const MAX_CHUNK_BYTES = 32 * 1024;

/** A started process and the subscription that has seen its output from the first byte. */
export interface StartedPipeProcess {
  process: ManagedProcess;
  subscription: Subscription;
}

/**
 * Starts a process with pipes through cove-exec, in its own session and process group so
 * signals reach its children. envd's spawner (a cove-spawn helper, decision 0017) forks, not
 * envd itself: a fork of envd's heap costs 6-8 ms, on the event loop.
 */
export async function spawnPipeProcess(spec: LaunchSpec, spawner: Spawner, execHelper: string, root: string): Promise<StartedPipeProcess> {
  const hub = createOutputHub();
  // Subscribed before the start: output can arrive right behind the pid.
  const subscription = hub.subscribe();
  const command = spawner.start([execHelper, ...helperArgs(spec, root)], {
    env: spec.env,
    setsid: true,
    streamStdin: spec.stdin,
    onOutput: (stream, chunk) => publish(hub, stream, chunk),
  });
  let pid: number;
  try {
    pid = await command.pid;
  } catch (err) {
    subscription.close();
    // The reason is an envd fault (its helpers are missing or broken), not the caller's.
    throw new EnvdError("internal", "failed to start process", { cause: err });
  }
  let stdinOpen = spec.stdin;
  const ended: Promise<EndStatus> = command.exited.then(
    ({ code, signal }) => {
      stdinOpen = false;
      const end = endStatus(code, signal);
      hub.publish({ kind: "end", end });
      return end;
    },
    () => {
      // The helper died under the process: its exit status is unknown.
      stdinOpen = false;
      const end = endStatus(null, "SIGKILL");
      hub.publish({ kind: "end", end });
      return end;
    },
  );

  const process = createManagedProcess({
    hub,
    ended,
    config: spec.config,
    tag: spec.tag,
    io: {
      pid,
      isPty: false,
      writeStdin(data) {
        if (!spec.stdin) throw new EnvdError("failed_precondition", `stdin is not enabled for process with pid ${pid}`);
        if (!stdinOpen) throw new EnvdError("failed_precondition", `stdin of process with pid ${pid} is closed`);
        command.writeStdin(data);
      },
      writePty() {
        throw new EnvdError("failed_precondition", `process with pid ${pid} has no pty`);
      },
      closeStdin() {
        stdinOpen = false;
        command.closeStdin();
      },
      resize() {
        throw new EnvdError("failed_precondition", `process with pid ${pid} has no pty to resize`);
      },
    },
  });
  return { process, subscription };
}

function publish(hub: OutputHub, stream: OutputStream, chunk: Buffer): void {
  for (let offset = 0; offset < chunk.length; offset += MAX_CHUNK_BYTES) {
    hub.publish({ kind: "data", stream, data: chunk.subarray(offset, offset + MAX_CHUNK_BYTES) });
  }
}
