export { NodeError, nodeErrorHttpStatus, type NodeErrorCode } from "./errors.js";
export { nextState, canTransition, transitions, type SandboxState, type TransitionEvent } from "./lifecycle/state-table.js";
