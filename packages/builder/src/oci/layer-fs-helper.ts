import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BuilderError } from "../errors.js";

/** Where `npm run build` puts the helper (the same relative path from src/oci and dist/oci). */
export const defaultLayerFsHelper = fileURLToPath(new URL("../../build/native/cove-layer-fs", import.meta.url));

/** A running native/cove-layer-fs.c: records in, entries written in order. */
export interface LayerFs {
  /** One record: its fields (see the C file), NUL-terminated. */
  record(fields: readonly (string | number)[]): Promise<void>;
  /** Raw file content, right after its `F` record. */
  data(chunk: Buffer): Promise<void>;
  /** Ends the input and waits until everything is written. */
  close(): Promise<void>;
  /** Stops the helper after a failure elsewhere, and waits until it is gone (so its directory can be removed). */
  abort(): Promise<void>;
}

const flushAt = 256 << 10;

/**
 * Starts the helper on `dir`. Records are batched into one pipe write per 256 KiB, and a
 * full pipe makes the caller wait, so memory stays bounded on any layer size. The helper's
 * refusal is an `io_failed`: the builder checked every path before sending it.
 */
export function openLayerFs(helper: string, dir: string): LayerFs {
  const child = spawn(helper, [dir], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once("error", (err) => {
      spawnError = err;
      resolve(null);
    });
    child.once("close", (code) => resolve(code));
  });
  child.stdin.on("error", () => {}); // an early exit shows up as the exit code and stderr
  const failure = async (): Promise<never> => {
    const code = await exited;
    if (spawnError !== undefined)
      throw new BuilderError("io_failed", `cannot run ${helper} (run npm run build in packages/builder): ${spawnError.message}`, { cause: spawnError });
    throw new BuilderError("io_failed", `unpacking a layer failed: ${stderr.trim() || `cove-layer-fs exited with ${code}`}`);
  };
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let done = false;
  void exited.then(() => {
    done = true;
  });

  async function write(buf: Buffer): Promise<void> {
    if (done) await failure();
    if (child.stdin.write(buf)) return;
    const drained = new Promise<void>((resolve) => child.stdin.once("drain", resolve));
    if ((await Promise.race([drained.then(() => "drained" as const), exited.then(() => "exited" as const)])) === "exited") await failure();
  }
  async function flush(): Promise<void> {
    if (pendingBytes === 0) return;
    const buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await write(buf);
  }
  async function push(buf: Buffer): Promise<void> {
    pending.push(buf);
    pendingBytes += buf.length;
    if (pendingBytes >= flushAt) await flush();
  }

  return {
    record: (fields) => push(Buffer.from(fields.map((f) => `${f}\0`).join(""))),
    async data(chunk) {
      if (chunk.length >= flushAt) {
        await flush();
        await write(chunk);
      } else await push(chunk);
    },
    async close() {
      await flush();
      child.stdin.end();
      const code = await exited;
      if (code !== 0) await failure();
    },
    async abort() {
      if (!done && child.pid !== undefined) child.kill("SIGKILL");
      await exited;
    },
  };
}
