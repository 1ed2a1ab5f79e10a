export { type ResolvedSource, sourceKey, stepKey } from "./keys.js";
export { type BuildPlan, type PlannedStep, type PlanOptions, planBuild } from "./plan.js";
export { applyStep, type BuildState, homeOf, initialState, validateStep } from "./state.js";
