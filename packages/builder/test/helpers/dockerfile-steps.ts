import assert from "node:assert/strict";
import type { BuildSpec, BuildStep } from "../../src/build-spec.js";

const step = (type: BuildStep["type"], arg: string): BuildStep => ({ type, args: [arg], force: false });

/**
 * The steps the Dockerfile's own instructions made: checks the opening `USER root`, `WORKDIR /` and
 * drops it, and drops the closing E2B defaults (`USER user`, `WORKDIR /home/user`) when present.
 */
export function bodySteps(spec: BuildSpec): BuildStep[] {
  assert.deepEqual(spec.steps.slice(0, 2), [step("USER", "root"), step("WORKDIR", "/")], "the opening steps");
  const body = spec.steps.slice(2);
  if (body.length > 0 && isStep(body.at(-1), step("WORKDIR", "/home/user"))) body.pop();
  if (body.length > 0 && isStep(body.at(-1), step("USER", "user"))) body.pop();
  return body;
}

function isStep(actual: BuildStep | undefined, expected: BuildStep): boolean {
  return actual !== undefined && actual.type === expected.type && actual.args.length === 1 && actual.args[0] === expected.args[0];
}
