import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { NodeError } from "../errors.js";
import type { BuildFiles } from "./step-runner.js";

/** The tars of COPY steps' files, uploaded ahead of their build, by the hash the SDK (or the CLI) computed. */
export interface BuildFileStore extends BuildFiles {
  /** Stores an upload; a partial one (a dropped connection) never becomes visible. */
  put(filesHash: string, body: Readable): Promise<void>;
  has(filesHash: string): Promise<boolean>;
}

const HASH = /^[0-9a-f]{64}$/;

/** One COPY step's tar may not exceed this: a build's files must not fill the node's disk. */
export const MAX_BUILD_FILES_BYTES = 4 * 1024 ** 3;

/** Passes bytes through, failing once more than `limit` went by. */
function capped(limit: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(new NodeError("resource_exhausted", `the files are larger than ${limit} bytes`));
      else done(null, chunk);
    },
  });
}

export async function createBuildFileStore(dir: string, maxBytes = MAX_BUILD_FILES_BYTES): Promise<BuildFileStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pathOf = (hash: string) => {
    if (!HASH.test(hash)) throw new NodeError("invalid_argument", `invalid files hash '${hash}' (64 lowercase hex digits)`);
    return join(dir, `${hash}.tar`);
  };
  return {
    async put(hash, body) {
      const final = pathOf(hash);
      const tmp = join(dir, `.${hash}.${randomBytes(4).toString("hex")}`);
      try {
        await pipeline(body, capped(maxBytes), createWriteStream(tmp, { mode: 0o600 }));
        await rename(tmp, final);
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },
    async has(hash) {
      const file = await open(pathOf(hash)).catch(() => undefined);
      await file?.close();
      return file !== undefined;
    },
    async find(hash) {
      const path = pathOf(hash);
      const file = await open(path).catch(() => undefined);
      if (!file) return undefined;
      try {
        const head = Buffer.alloc(2);
        await file.read(head, 0, 2, 0);
        return { path, gzip: head[0] === 0x1f && head[1] === 0x8b };
      } finally {
        await file.close();
      }
    },
  };
}
