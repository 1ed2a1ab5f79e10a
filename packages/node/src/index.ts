export { NodeError, nodeErrorHttpStatus, type NodeErrorCode } from "./errors.js";
export { nextState, canTransition, transitions, type SandboxState, type TransitionEvent } from "./lifecycle/state-table.js";
export {
  buildBaseTemplate,
  readManifest,
  templateDir,
  type BuildBaseOptions,
  type BuildProgress,
  type BuildResult,
  type TemplateManifest,
} from "./templates/base-template.js";
export { findDebianMirror, readAptSources } from "./templates/apt-mirror.js";
export {
  buildOciSpec,
  sandboxCapabilities,
  maskedPaths,
  readonlyPaths,
  type BindMount,
  type OciSpec,
  type OciSpecOptions,
  type SandboxLimits,
} from "./runtime/container/oci-spec.js";
export { sandboxSeccompProfile, seccompArchitectures, deniedSyscalls, type SeccompProfile } from "./runtime/container/seccomp.js";
export {
  detectCgroupMode,
  detectOciRuntime,
  findOnPath,
  ociRunArgv,
  type CgroupMode,
  type OciRuntime,
  type OciRuntimeName,
} from "./runtime/container/host-detect.js";
