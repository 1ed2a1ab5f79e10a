export { NodeError, nodeErrorConnectCode, type NodeErrorCode } from "./errors.js";
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
export { buildCodeInterpreterTemplate, type BuildCodeInterpreterOptions } from "./templates/code-interpreter.js";
export { BUILT_IN_TEMPLATES, CODE_INTERPRETER_TEMPLATE } from "./templates/template-ref.js";
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
export type { SandboxRuntime, RuntimeSandboxSpec, RuntimeSandboxState, RuntimeStatus } from "./runtime/runtime.js";
export { createContainerRuntime, type ContainerRuntimeOptions } from "./runtime/container/container-runtime.js";
export { createTemplateStore, type TemplateStore, type ResolvedTemplate } from "./templates/template-store.js";
export type {
  CreateSandboxRequest,
  SandboxEvent,
  SandboxEventReason,
  SandboxEventType,
  SandboxInfo,
  SandboxRoute,
  SandboxService,
} from "./sandbox/types.js";
export { createSandboxManager, sandboxInit, type SandboxManager, type SandboxManagerOptions, type RecoveryReport } from "./sandbox/manager.js";
export { createRecordStore, type RecordStore, type SandboxRecord } from "./sandbox/records.js";
export { createEnvdControl, type EnvdControl, type EnvdInit } from "./sandbox/envd-control.js";
export { newSandboxId } from "./sandbox/ids.js";
export { silentLogger, type Logger } from "./sandbox/logger.js";
export { loadNodeConfig, NodeConfigError, type NodeConfig, type NodeFlags } from "./config.js";
export { startNode, NODE_VERSION, type RunningNode } from "./node.js";
export { createNodeApiServer, type NodeApiServer, type NodeApiServerOptions } from "./api/server.js";
export { createNodeApiRoutes, type NodeApiRoutesOptions } from "./api/routes.js";
export { createBearerAuth, bearerToken } from "./api/auth.js";
export { NODE_ERROR_CODE_HEADER } from "./api/connect-error.js";
export type { NodeInfo, NodeApiLogger } from "./api/types.js";
export * from "./network/index.js";
export * from "./storage/index.js";
