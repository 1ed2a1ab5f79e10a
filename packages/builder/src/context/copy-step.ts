import type { Readable } from "node:stream";
import type { BuildStep } from "../build-spec.js";
import { BuilderError } from "../errors.js";
import type { IgnoreRules } from "./dockerignore.js";
import { computeFilesHash } from "./hash.js";
import { type ContextEntry, matchContextFiles } from "./match.js";
import { type ContextTarOptions, createContextTar } from "./tar.js";

export interface PreparedCopyStep {
  /** The step's cache key, the same the SDK would send for it. */
  filesHash: string;
  entries: ContextEntry[];
  /**
   * The archive to upload when the server does not have `filesHash` yet. A function so that a step
   * the server already has opens no files; each call reads the context afresh.
   */
  openTar(options?: ContextTarOptions): Readable;
}

/** What the CLI needs for a COPY step: its files hash, and its archive on demand. */
export async function prepareCopyStep(contextDir: string, step: BuildStep, ignore: IgnoreRules): Promise<PreparedCopyStep> {
  const [src, dest] = step.args;
  if (step.type !== "COPY" || src === undefined || dest === undefined) {
    throw new BuilderError("invalid_spec", `a ${step.type} step with ${step.args.length} arguments is not a COPY step with a source and a destination`);
  }
  const entries = await matchContextFiles(contextDir, src, ignore);
  const filesHash = await computeFilesHash(src, dest, entries);
  return { filesHash, entries, openTar: (options) => createContextTar(entries, options) };
}
