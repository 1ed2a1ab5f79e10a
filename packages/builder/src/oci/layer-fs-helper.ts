import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { BuilderError } from "../errors.js";

/** Where `npm run build` puts the helper (the same relative path from src/oci and dist/oci). */
export const defaultLayerFsHelper = fileURLToPath(new URL("../../build/native/cove-layer-fs", import.meta.url));

/** One operation of native/cove-layer-fs.c; paths are relative to the layer directory. */
export type LayerFsRecord =
  | { op: "whiteout"; path: string }
  | { op: "opaque"; path: string }
  | { op: "node"; path: string; kind: "c" | "b" | "p"; mode: number; major: number; minor: number; uid: number; gid: number; mtime: number }
  | { op: "xattr"; path: string; name: string; value: Buffer };

function fields(r: LayerFsRecord): string[] {
  switch (r.op) {
    case "whiteout":
      return ["W", r.path];
    case "opaque":
      return ["O", r.path];
    case "xattr":
      return ["X", r.path, r.name, r.value.toString("hex")];
    case "node": {
      const sec = Math.floor(r.mtime);
      const nsec = Math.round((r.mtime - sec) * 1e9);
      return [
        "N",
        r.path,
        r.kind,
        r.mode.toString(8),
        String(r.major),
        String(r.minor),
        String(r.uid),
        String(r.gid),
        String(sec),
        String(Math.min(nsec, 999_999_999)),
      ];
    }
  }
}

/** Runs the helper once over all records, in order. Its refusal is an `io_failed`: the builder checked every path first. */
export async function runLayerFsHelper(helper: string, dir: string, records: readonly LayerFsRecord[]): Promise<void> {
  if (records.length === 0) return;
  const input = Buffer.from(records.flatMap((r) => fields(r).map((f) => `${f}\0`)).join(""));
  const child = spawn(helper, [dir], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve(code));
  });
  child.stdin.on("error", () => {}); // an early exit shows up as the exit code and stderr
  child.stdin.end(input);
  let code: number | null;
  try {
    code = await exited;
  } catch (err) {
    throw new BuilderError("io_failed", `cannot run ${helper} (run npm run build in packages/builder): ${(err as Error).message}`, { cause: err });
  }
  if (code !== 0) throw new BuilderError("io_failed", `unpacking a layer failed: ${stderr.trim() || `cove-layer-fs exited with ${code}`}`);
}
