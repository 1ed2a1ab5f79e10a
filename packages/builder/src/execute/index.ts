export { createDiskLayerStore, type DiskLayerStore } from "./disk-layer-store.js";
export { type BuildLogEntry, type BuildOutput, describeStep, type ExecuteOptions, executeBuild } from "./execute.js";
export type { Layer, LayerStore, StagedLayer } from "./layer-store.js";
export { userScript } from "./scripts.js";
export type { CopyInput, StartCheck, StepContext, StepRunner } from "./step-runner.js";
