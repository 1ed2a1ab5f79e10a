export type { BuildSource, BuildSpec, BuildStep, BuildStepType, RegistryCredentials } from "./build-spec.js";
export { BuilderError, type BuilderErrorCode } from "./errors.js";
export * from "./oci/index.js";
