import { createHash } from "node:crypto";
import type { BuildStep } from "../build-spec.js";

/** Where a build's first layer comes from, resolved to something immutable. */
export type ResolvedSource = { kind: "image"; digest: string } | { kind: "template"; buildId: string };

function hash(parts: unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** The cache key of a build's starting point: an image by its manifest digest, a template by its build. */
export function sourceKey(source: ResolvedSource): string {
  return source.kind === "image" ? hash(["image", source.digest]) : hash(["template", source.buildId]);
}

/**
 * A step's layer key: its parent's key, the step and its files' hash. Everything a step
 * inherits (env, user, workdir) came from earlier steps, which are in the parent's key.
 * `force` is not part of it: a forced step replaces the layer cached under the same key.
 */
export function stepKey(parent: string, step: BuildStep): string {
  return hash([parent, step.type, step.args, step.filesHash ?? null]);
}
