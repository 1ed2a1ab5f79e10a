import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";

/**
 * A context file's bytes. O_NOFOLLOW: a file listed as regular that has since become a symlink
 * fails to open rather than leading out of the context.
 */
export async function readContextFile(path: string): Promise<Readable> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  return handle.createReadStream();
}
