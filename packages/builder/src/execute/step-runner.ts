import type { BuildState } from "../plan/state.js";

export interface StepContext {
  /** The layers below this step, bottom first (read-only). */
  lower: string[];
  /** Where the step's changes go (the build sandbox's upper dir). */
  upperDir: string;
  state: BuildState;
  signal: AbortSignal;
  onOutput(stream: "stdout" | "stderr", line: string): void;
}

export interface CopyInput {
  /** The uploaded files' hash: where the runner finds their tar. */
  filesHash: string;
  src: string;
  /** Absolute, or relative to the step's workdir. */
  dest: string;
  /** Owner of the copied files; `""` means the step's user. */
  user: string;
  /** Octal mode applied to the copied files, or `""` to keep theirs. */
  mode: string;
}

export interface StartCheck {
  startCmd?: string;
  readyCmd?: string;
}

/**
 * Runs a step in a build sandbox on top of `lower`. The node implements it with a real sandbox
 * (same isolation and limits as any); tests use a fake.
 */
export interface StepRunner {
  /** Runs `command` with `/bin/sh -c` as `user`, in the state's workdir with its env; resolves to the exit code. */
  run(ctx: StepContext, command: string, user: string): Promise<number>;
  copy(ctx: StepContext, input: CopyInput): Promise<void>;
  /** Starts the start command and waits until the ready command exits 0; throws why not. */
  checkStart(ctx: StepContext, check: StartCheck): Promise<void>;
}
