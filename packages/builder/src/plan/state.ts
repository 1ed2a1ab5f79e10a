import { posix } from "node:path";
import type { BuildStep } from "../build-spec.js";
import { BuilderError } from "../errors.js";

/**
 * What a step runs with, accumulated from the source's config and the ENV / ARG / WORKDIR / USER
 * steps before it. The last state is the template's default for its sandboxes.
 */
export interface BuildState {
  user: string;
  workdir: string;
  /** Whether a WORKDIR step set `workdir`; until one does, a USER step moves it to the user's home (E2B's behaviour). */
  workdirSet: boolean;
  env: Record<string, string>;
}

/** E2B's defaults for every template, whatever its source: `user` in `/home/user` (not Docker's root in `/`). */
export function initialState(env: Record<string, string> = {}): BuildState {
  return { user: "user", workdir: "/home/user", workdirSet: false, env: { ...env } };
}

export function homeOf(user: string): string {
  return user === "root" ? "/root" : `/home/${user}`;
}

const envKey = /^[A-Za-z_][A-Za-z0-9_]*$/;
// A name useradd would take, or a numeric uid[:gid] (Dockerfile USER 1000:1000).
const userName = /^(?:[a-z_][a-z0-9_.-]{0,31}|[0-9]{1,10}(?::[0-9]{1,10})?)$/;
const octalMode = /^0?[0-7]{3,4}$/;

function refuse(index: number, step: BuildStep, why: string): never {
  throw new BuilderError("invalid_spec", `step ${index} (${step.type}): ${why}`);
}

/** Checks one step's arguments; `index` is 1-based, as build logs and failure reasons count steps. */
export function validateStep(step: BuildStep, index: number): void {
  const { args } = step;
  if (!Array.isArray(args) || args.some((a) => typeof a !== "string")) refuse(index, step, "args must be strings");
  if (args.some((a) => a.includes("\0"))) refuse(index, step, "args must not contain NUL bytes");
  switch (step.type) {
    case "RUN":
      if (args.length < 1 || args.length > 2 || args[0] === "") refuse(index, step, "expects [command, user?]");
      if (args[1] && !userName.test(args[1])) refuse(index, step, `invalid user '${args[1]}'`);
      return;
    case "COPY":
    case "ADD": {
      if (args.length < 2 || args.length > 4 || !args[0] || !args[1]) refuse(index, step, "expects [src, dest, user?, mode?]");
      if (!step.filesHash || !/^[0-9a-f]{64}$/.test(step.filesHash)) refuse(index, step, "needs the filesHash of its uploaded files");
      if (args[2] && !userName.test(args[2].split(":")[0] ?? "")) refuse(index, step, `invalid user '${args[2]}'`);
      if (args[3] && !octalMode.test(args[3])) refuse(index, step, `invalid mode '${args[3]}' (octal, e.g. 0755)`);
      return;
    }
    case "ENV":
    case "ARG":
      if (args.length === 0 || args.length % 2 !== 0) refuse(index, step, "expects key, value pairs");
      for (let i = 0; i < args.length; i += 2) if (!envKey.test(args[i] ?? "")) refuse(index, step, `invalid variable name '${args[i]}'`);
      return;
    case "WORKDIR":
      if (args.length !== 1 || !args[0]) refuse(index, step, "expects [path]");
      return;
    case "USER":
      if (args.length !== 1 || !userName.test(args[0] ?? "")) refuse(index, step, `invalid user '${args[0] ?? ""}'`);
      return;
    default:
      refuse(index, step, "unknown step type");
  }
}

/** The state after `step` (RUN and COPY leave it as it was). */
export function applyStep(state: BuildState, step: BuildStep): BuildState {
  switch (step.type) {
    case "ENV":
    case "ARG": {
      // ARG is taken as ENV, as E2B's executor does: values persist into the template.
      const env = { ...state.env };
      for (let i = 0; i + 1 < step.args.length; i += 2) env[step.args[i] as string] = step.args[i + 1] as string;
      return { ...state, env };
    }
    case "WORKDIR":
      return { ...state, workdir: posix.resolve(state.workdir, step.args[0] as string), workdirSet: true };
    case "USER": {
      const user = step.args[0] as string;
      return { ...state, user, workdir: state.workdirSet ? state.workdir : homeOf(user) };
    }
    default:
      return state;
  }
}
