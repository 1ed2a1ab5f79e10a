import * as nodePty from "node-pty";
import { EnvdError } from "../../errors.js";
import { endStatus, type EndStatus } from "./end-status.js";
import { helperArgs, type LaunchSpec } from "./launch.js";
import { createManagedProcess, type ManagedProcess } from "./managed-process.js";
import { MAX_CHUNK_BYTES } from "./spawn-pipe.js";
import { createOutputHub } from "./subscription.js";

/**
 * Starts a process on a new pseudo-terminal through cove-exec. node-pty makes
 * it a session leader with the pty as controlling terminal, so the pid is
 * also its process group. TERM comes from the request's envs.
 */
export function spawnPtyProcess(spec: LaunchSpec, execHelper: string, root: string): ManagedProcess {
  const size = spec.pty ?? { cols: 80, rows: 24 };
  let term: nodePty.IPty;
  try {
    term = nodePty.spawn(execHelper, helperArgs(spec, root), {
      name: spec.env.TERM ?? "xterm-256color",
      cols: size.cols,
      rows: size.rows,
      cwd: spec.hostCwd,
      env: spec.env,
      // null: raw bytes, so multi-byte characters split across reads reach the client intact.
      encoding: null,
    });
  } catch (err) {
    throw new EnvdError("internal", "failed to start process on a pty", { cause: err });
  }
  const pid = term.pid;
  const hub = createOutputHub();
  let open = true;
  term.onData((chunk) => {
    // With encoding null node-pty hands out Buffers although its typings say string.
    const data = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    for (let offset = 0; offset < data.length; offset += MAX_CHUNK_BYTES) {
      hub.publish({ kind: "data", stream: "pty", data: data.subarray(offset, offset + MAX_CHUNK_BYTES) });
    }
  });
  const ended = new Promise<EndStatus>((resolve) => {
    term.onExit(({ exitCode, signal }) => {
      open = false;
      const end = endStatus(exitCode, signal);
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
      isPty: true,
      // A pty has one input; upstream clients may address it as stdin too.
      writeStdin: (data) => writePty(data),
      writePty: (data) => writePty(data),
      closeStdin() {
        throw new EnvdError("failed_precondition", `cannot close stdin of process with pid ${pid}: it runs on a pty`);
      },
      resize(cols, rows) {
        if (open) term.resize(cols, rows);
      },
    },
  });

  function writePty(data: Uint8Array): void {
    if (!open) throw new EnvdError("failed_precondition", `process with pid ${pid} has exited`);
    term.write(Buffer.from(data));
  }
}
