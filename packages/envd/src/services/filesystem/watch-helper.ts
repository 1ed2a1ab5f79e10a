import { spawn } from "node:child_process";
import type { Logger } from "../../logger.js";
import { EnvdError } from "../../errors.js";
import { createUploadEventFilter } from "./upload-events.js";
import { parseWatchLine } from "./watch-line.js";
import type { EventType } from "@cove/protocol/filesystem";
import type { OsUser } from "../../users.js";

/** A filesystem change as the helper reports it; `name` is relative to the watched dir. */
export interface RawWatchEvent {
  type: EventType;
  name: string;
}

export interface DirWatchOptions {
  /** Path of the cove-watch binary (config.watchHelper). */
  helper: string;
  /**
   * The helper runs as this user through cove-exec (config.execHelper), so
   * inotify only watches what the user may read and events never reveal
   * names in directories the user cannot list.
   */
  runAs: { user: OsUser; execHelper: string };
  /** Host path of the directory to watch. */
  hostDir: string;
  recursive: boolean;
  log: Logger;
  onEvent(event: RawWatchEvent): void;
  /** Called once when the helper ends on its own (not after stop()); err says why. */
  onFailure(err: EnvdError): void;
}

export interface DirWatch {
  /** Pid of the helper process. */
  readonly pid: number | undefined;
  /** Resolves once every initial watch is in place; rejects if the helper cannot start. */
  readonly ready: Promise<void>;
  /** Ends the helper (closes its stdin and sends SIGTERM); resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Runs one cove-watch helper for a directory. Node's fs.watch cannot tell
 * create from write from chmod, so classification happens in the helper,
 * which speaks inotify directly; see native/cove-watch.c. Uploads' temp
 * files are hidden and their final rename reported as a write
 * (upload-events.ts).
 */
export function startDirWatch(options: DirWatchOptions): DirWatch {
  const watchArgs = options.recursive ? ["-r", options.hostDir] : [options.hostDir];
  const { user, execHelper } = options.runAs;
  // cove-exec <uid> <gid> <groups> <root> <cwd> -- cmd: no chroot ("/"), since hostDir is a host path.
  const args = [String(user.uid), String(user.gid), user.groups.join(","), "/", "/", "--", options.helper, ...watchArgs];
  const child = spawn(execHelper, args, { stdio: ["pipe", "pipe", "pipe"] });
  let isReady = false;
  let stopping = false;
  let failed = false;
  let settleReady: { resolve(): void; reject(err: EnvdError): void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    settleReady = { resolve, reject };
  });
  ready.catch(() => {}); // observed by callers; avoid an unhandled rejection if nobody waits
  const exited = new Promise<void>((resolve) => {
    child.once("close", () => resolve());
    child.once("error", () => resolve()); // spawn failures may never emit "close"
  });

  const fail = (err: EnvdError) => {
    if (stopping || failed) return;
    failed = true;
    if (!isReady) settleReady?.reject(err);
    else options.onFailure(err);
  };

  let pending: Buffer = Buffer.alloc(0);
  child.stdout.on("data", (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (let newline = pending.indexOf(10); newline !== -1; newline = pending.indexOf(10)) {
      handleLine(pending.subarray(0, newline).toString("utf8"));
      pending = pending.subarray(newline + 1);
    }
  });

  let lastError = "";
  const uploads = createUploadEventFilter();
  const handleLine = (text: string) => {
    const line = parseWatchLine(text);
    if (!line || stopping) return;
    switch (line.kind) {
      case "ready":
        isReady = true;
        settleReady?.resolve();
        break;
      case "event":
        for (const event of uploads({ type: line.type, name: line.name })) options.onEvent(event);
        break;
      case "overflow":
        options.log.warn({ dir: options.hostDir }, "watch queue overflowed; events were lost");
        break;
      case "error":
        lastError = line.message;
        options.log.warn({ dir: options.hostDir, message: line.message }, "watch helper reported a problem");
        break;
    }
  };

  child.stderr.on("data", (chunk: Buffer) => options.log.debug({ stderr: chunk.toString("utf8") }, "watch helper stderr"));
  child.stdin.on("error", () => {}); // EPIPE when the helper is already gone
  child.once("error", (err) => fail(new EnvdError("internal", "cannot start the directory watcher", { cause: err })));
  child.once("close", (code, signal) => {
    const reason = lastError ? `: ${lastError}` : "";
    fail(new EnvdError("internal", `directory watcher ended (${signal ?? `exit ${code}`})${reason}`));
  });

  return {
    pid: child.pid,
    ready,
    async stop() {
      stopping = true;
      child.stdin.end();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
