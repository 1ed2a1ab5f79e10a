export type { BuildSource, BuildSpec, BuildStep, BuildStepType, RegistryCredentials } from "./build-spec.js";
export { type BuildFailureStep, BuilderError, type BuilderErrorCode, BuildStepError } from "./errors.js";
export * from "./context/index.js";
export * from "./dockerfile/index.js";
export * from "./execute/index.js";
export * from "./oci/index.js";
export * from "./plan/index.js";
