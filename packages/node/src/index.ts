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
