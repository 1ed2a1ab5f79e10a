import { NodeError } from "../errors.js";

/** Sandbox lifecycle states (architecture page). */
export type SandboxState = "pending" | "starting" | "running" | "paused" | "hibernated" | "stopped" | "error";

/** Why a transition happens; recorded in events. */
export type TransitionEvent = "start" | "ready" | "pause" | "resume" | "hibernate" | "kill" | "fail";

/**
 * The allowed moves, as a table: state → event → next state. Anything not
 * listed is illegal and throws. `kill` and `fail` are legal from every live
 * state; stopped and error are terminal.
 */
export const transitions: Record<SandboxState, Partial<Record<TransitionEvent, SandboxState>>> = {
  pending: { start: "starting", kill: "stopped", fail: "error" },
  starting: { ready: "running", kill: "stopped", fail: "error" },
  running: { pause: "paused", kill: "stopped", fail: "error" },
  paused: { resume: "running", hibernate: "hibernated", kill: "stopped", fail: "error" },
  hibernated: { resume: "running", kill: "stopped", fail: "error" },
  stopped: {},
  error: { kill: "stopped" },
};

/** The state after `event` in `state`; throws NodeError("invalid_transition") for an illegal move. */
export function nextState(state: SandboxState, event: TransitionEvent): SandboxState {
  const next = transitions[state][event];
  if (!next) throw new NodeError("invalid_transition", `cannot ${event} a sandbox that is ${state}`);
  return next;
}

export function canTransition(state: SandboxState, event: TransitionEvent): boolean {
  return transitions[state][event] !== undefined;
}

/**
 * Moves `target` by `event` and returns its new state; the one way the node changes a
 * sandbox's state. Throws (and leaves `target` as it was) for an illegal move.
 */
export function applyTransition(target: { state: SandboxState }, event: TransitionEvent): SandboxState {
  target.state = nextState(target.state, event);
  return target.state;
}
