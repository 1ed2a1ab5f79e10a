import type { BuildStep } from "../build-spec.js";
import { BuilderError, BuildStepError } from "../errors.js";
import type { BuildPlan, PlannedStep } from "../plan/plan.js";
import { applyStep } from "../plan/state.js";
import type { Layer, LayerStore } from "./layer-store.js";
import { userScript, workdirScript } from "./scripts.js";
import type { StartCheck, StepContext, StepRunner } from "./step-runner.js";

export interface BuildLogEntry {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  /** `base`, `finalize` or the 1-based step number, as E2B's status reports it. */
  step?: string;
}

export interface ExecuteOptions extends StartCheck {
  plan: BuildPlan;
  /** The source's layers (an image's, or the parent template's), bottom first. */
  sourceLayers: string[];
  store: LayerStore;
  runner: StepRunner;
  log(entry: BuildLogEntry): void;
  signal?: AbortSignal;
}

export interface BuildOutput {
  /** Every non-empty layer of the template, bottom first: the source's, then the steps'. */
  lower: string[];
  /** The steps' layers (empty ones included), in step order: what the build holds on to. */
  layers: Layer[];
  cachedSteps: number;
}

const TAIL_LINES = 20;

export function describeStep(step: BuildStep): string {
  const args = step.type === "ENV" || step.type === "ARG" ? pairs(step.args) : step.args.filter((a) => a !== "").join(" ");
  return `${step.type} ${args}`;
}

function pairs(args: string[]): string {
  const out: string[] = [];
  for (let i = 0; i + 1 < args.length; i += 2) out.push(`${args[i]}=${args[i + 1]}`);
  return out.join(" ");
}

/**
 * Runs a planned build: reuses cached layers, runs the rest one step at a time on top of the
 * layers below, commits each step's changes as a layer, then checks the start and ready
 * commands. A failing step throws a BuildStepError naming it, with the tail of its output.
 */
export async function executeBuild(options: ExecuteOptions): Promise<BuildOutput> {
  const { plan, store, runner, log } = options;
  const signal = options.signal ?? new AbortController().signal;
  const total = plan.steps.length;
  const lower = [...options.sourceLayers];
  const layers: Layer[] = [];
  let cachedSteps = 0;

  for (const planned of plan.steps) {
    if (signal.aborted) throw new BuilderError("canceled", "the build was canceled");
    const label = `[${planned.index}/${total}] ${describeStep(planned.step)}`;
    const cached = planned.cached ? await store.get(planned.key) : undefined;
    const layer = cached ?? (await runStep(planned, label));
    if (cached) {
      cachedSteps++;
      log({ level: "info", message: `CACHED ${label}`, step: String(planned.index) });
    }
    layers.push(layer);
    if (!layer.empty) lower.push(layer.dir);
  }

  async function runStep(planned: PlannedStep, label: string): Promise<Layer> {
    const step = String(planned.index);
    log({ level: "info", message: label, step });
    const staged = await store.stage();
    const tail: string[] = [];
    const ctx: StepContext = {
      lower: [...lower],
      upperDir: staged.dir,
      state: planned.state,
      signal,
      onOutput(stream, line) {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        log({ level: stream === "stderr" ? "warn" : "info", message: line, step });
      },
    };
    try {
      await apply(planned, ctx, tail);
      return await store.commit(staged, planned.key);
    } catch (err) {
      await store.discard(staged);
      if (err instanceof BuildStepError) throw err;
      if (signal.aborted) throw new BuilderError("canceled", "the build was canceled", { cause: err });
      const message = err instanceof Error ? err.message : String(err);
      throw new BuildStepError("step_failed", `${planned.index}`, `step ${planned.index} (${describeStep(planned.step)}) failed: ${message}`, tail, {
        cause: err,
      });
    }
  }

  async function apply(planned: PlannedStep, ctx: StepContext, tail: string[]): Promise<void> {
    const { step, state } = planned;
    const command = (script: string, user: string) =>
      runner.run(ctx, script, user).then((code) => {
        if (code !== 0) {
          throw new BuildStepError("step_failed", `${planned.index}`, `step ${planned.index} (${describeStep(step)}) exited with code ${code}`, [...tail]);
        }
      });
    switch (step.type) {
      case "RUN": {
        const script = step.args[0] as string;
        return command(script, step.args[1] || state.user).catch((err: unknown) => {
          if (err instanceof BuildStepError || signal.aborted) throw err;
          // E2B's wording for a command that could not run (its SDK's tests match on it).
          throw new Error(`failed to run command '${script}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        });
      }
      case "COPY":
      case "ADD": {
        const [src = "", dest = "", user = "", mode = ""] = step.args;
        return runner.copy(ctx, { filesHash: step.filesHash as string, src, dest, user, mode });
      }
      case "WORKDIR":
        return command(workdirScript(applyStep(state, step).workdir, state.user), "root");
      case "USER":
        return command(userScript(step.args[0] as string), "root");
      default:
        // ENV and ARG change only the state: an empty layer keeps their place in the cache chain.
        return;
    }
  }

  if (options.startCmd || options.readyCmd) {
    log({ level: "info", message: "checking the start and ready commands", step: "finalize" });
    const staged = await store.stage();
    try {
      const check: StartCheck = {};
      if (options.startCmd) check.startCmd = options.startCmd;
      if (options.readyCmd) check.readyCmd = options.readyCmd;
      await runner.checkStart(
        { lower: [...lower], upperDir: staged.dir, state: plan.final, signal, onOutput: (_s, line) => log({ level: "info", message: line, step: "finalize" }) },
        check,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new BuildStepError("start_failed", "finalize", `the start or ready command failed: ${message}`, [], { cause: err });
    } finally {
      await store.discard(staged);
    }
  }
  return { lower, layers, cachedSteps };
}
