import type { BuildSpec, BuildStep } from "../build-spec.js";
import { stepKey } from "./keys.js";
import { applyStep, type BuildState, validateStep } from "./state.js";

export interface PlannedStep {
  /** 1-based, as logs and failure reasons count steps. */
  index: number;
  step: BuildStep;
  key: string;
  /** What the step runs with. */
  state: BuildState;
  /** A layer under `key` exists and nothing asked to rebuild it or anything before it. */
  cached: boolean;
}

export interface BuildPlan {
  steps: PlannedStep[];
  /** The template's defaults for its sandboxes. */
  final: BuildState;
  /** The key of the last step's layer (the source's key for a build without steps). */
  finalKey: string;
}

export interface PlanOptions {
  sourceKey: string;
  /** The state the source gives the first step (its env; E2B's user and workdir). */
  initial: BuildState;
  isCached(key: string): boolean;
}

/**
 * Decides which steps run. A step is reused only when its layer exists and neither the build
 * nor the step is forced, and no step before it runs: a step that runs again may produce
 * different files, and every later layer sits on top of them.
 */
export function planBuild(spec: Pick<BuildSpec, "steps" | "force">, options: PlanOptions): BuildPlan {
  for (const [i, step] of spec.steps.entries()) validateStep(step, i + 1);
  let key = options.sourceKey;
  let state = options.initial;
  let reusing = !spec.force;
  const steps = spec.steps.map((step, i): PlannedStep => {
    key = stepKey(key, step);
    reusing = reusing && !step.force && options.isCached(key);
    const planned = { index: i + 1, step, key, state, cached: reusing };
    state = applyStep(state, step);
    return planned;
  });
  return { steps, final: state, finalKey: key };
}
