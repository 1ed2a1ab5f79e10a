// The build executor on a real on-disk layer store with a fake step runner (the node's real
// runner needs sandboxes; its own tests cover it): what runs, what is reused, what the layers
// hold, logs, failures and cancellation.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { BuildStep } from "../src/build-spec.js";
import { BuildStepError, BuilderError } from "../src/errors.js";
import { shellQuote as quote } from "../src/dockerfile/shell-quote.js";
import { userScript, workdirScript } from "../src/execute/scripts.js";
import {
  type BuildLogEntry,
  createDiskLayerStore,
  type DiskLayerStore,
  executeBuild,
  initialState,
  planBuild,
  type StepContext,
  type StepRunner,
  sourceKey,
} from "../src/index.js";

interface Call {
  kind: "run" | "copy" | "check";
  what: string;
  user?: string;
  lower: string[];
  workdir: string;
}

/** Writes a file named after each RUN's command into the step's upper dir; `exit N` fails with N. */
function fakeRunner(calls: Call[], output: string[] = []): StepRunner {
  const note = (ctx: StepContext, kind: Call["kind"], what: string, user?: string) =>
    calls.push({ kind, what, lower: ctx.lower, workdir: ctx.state.workdir, ...(user === undefined ? {} : { user }) });
  return {
    async run(ctx, command, user) {
      note(ctx, "run", command, user);
      for (const line of output) ctx.onOutput("stdout", line);
      const exit = /^exit (\d+)$/.exec(command);
      if (exit) return Number(exit[1]);
      if (command === "throw") throw new Error("sandbox died");
      if (!command.includes("nothing")) writeFileSync(join(ctx.upperDir, command.replace(/\W/g, "_").slice(0, 40)), command);
      return 0;
    },
    async copy(ctx, input) {
      note(ctx, "copy", `${input.src}->${input.dest}`, input.user);
      writeFileSync(join(ctx.upperDir, "copied"), input.filesHash);
    },
    async checkStart(ctx, check) {
      note(ctx, "check", `${check.startCmd ?? ""}|${check.readyCmd ?? ""}`);
      if (check.readyCmd === "false") throw new Error("ready command never passed");
    },
  };
}

const run = (cmd: string, force = false): BuildStep => ({ type: "RUN", args: [cmd], force });
const SOURCE = sourceKey({ kind: "template", buildId: "base-1" });

describe("build executor", () => {
  let root: string;
  let store: DiskLayerStore;
  before(async () => {
    root = mkdtempSync(join(tmpdir(), "cove-exec-"));
    store = await createDiskLayerStore(join(root, "store"));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  async function build(steps: BuildStep[], extra: { force?: boolean; startCmd?: string; readyCmd?: string; signal?: AbortSignal } = {}) {
    const calls: Call[] = [];
    const logs: BuildLogEntry[] = [];
    const keys = await store.keys();
    const plan = planBuild({ steps, force: extra.force ?? false }, { sourceKey: SOURCE, initial: initialState(), isCached: (k) => keys.has(k) });
    const out = await executeBuild({
      plan,
      sourceLayers: ["/base"],
      store,
      runner: fakeRunner(calls, ["line"]),
      log: (e) => logs.push(e),
      ...(extra.startCmd ? { startCmd: extra.startCmd } : {}),
      ...(extra.readyCmd ? { readyCmd: extra.readyCmd } : {}),
      ...(extra.signal ? { signal: extra.signal } : {}),
    });
    return { calls, logs, out };
  }

  it("runs every step on the layers below it and commits each step's files as a layer", async () => {
    const steps: BuildStep[] = [
      run("apt one"),
      { type: "ENV", args: ["A", "1"], force: false },
      { type: "COPY", args: ["app", "app", "", "0755"], force: false, filesHash: "c".repeat(64) },
      run("make two"),
    ];
    const { calls, out, logs } = await build(steps);
    assert.deepEqual(
      calls.map((c) => c.kind),
      ["run", "copy", "run"],
    );
    assert.deepEqual(calls[0]?.lower, ["/base"]);
    assert.equal(calls[0]?.user, "user");
    assert.equal(calls[2]?.lower.length, 3);
    assert.equal(out.layers.length, 4);
    assert.equal(out.layers[1]?.empty, true, "ENV changes no files");
    assert.deepEqual(out.lower, ["/base", out.layers[0]?.dir, out.layers[2]?.dir, out.layers[3]?.dir]);
    assert.equal(readFileSync(join(out.layers[2]?.dir ?? "", "copied"), "utf8"), "c".repeat(64));
    assert.equal(out.cachedSteps, 0);
    assert.deepEqual(
      logs.filter((l) => l.message.startsWith("[")).map((l) => l.message),
      ["[1/4] RUN apt one", "[2/4] ENV A=1", "[3/4] COPY app app 0755", "[4/4] RUN make two"],
    );
    assert.ok(
      logs.some((l) => l.message === "line" && l.step === "1"),
      "step output is logged with its step",
    );
    assert.deepEqual(readdirSync(join(root, "store/staging")), [], "nothing left in staging");
  });

  it("an unchanged rebuild runs nothing; changing the last step runs only that step", async () => {
    const steps = [run("s one"), run("s two"), run("s three")];
    const first = await build(steps);
    const again = await build(steps);
    assert.deepEqual(again.calls, []);
    assert.equal(again.out.cachedSteps, 3);
    assert.deepEqual(again.out.lower, first.out.lower);
    assert.ok(again.logs.every((l) => l.message.startsWith("CACHED [")));
    const changed = await build([run("s one"), run("s two"), run("s THREE")]);
    assert.deepEqual(
      changed.calls.map((c) => c.what),
      ["s THREE"],
    );
    assert.deepEqual(changed.out.lower.slice(0, 3), first.out.lower.slice(0, 3));
  });

  it("a forced step reruns with everything after it, under new layer ids; the old layers stay for whoever uses them", async () => {
    const steps = [run("f one"), run("f two"), run("f three")];
    const first = await build(steps);
    const forced = await build([run("f one"), run("f two", true), run("f three")]);
    assert.deepEqual(
      forced.calls.map((c) => c.what),
      ["f two", "f three"],
    );
    assert.notEqual(forced.out.layers[1]?.id, first.out.layers[1]?.id);
    assert.ok(existsSync(first.out.layers[1]?.dir ?? ""), "the replaced layer is still on disk");
    assert.equal((await store.get(forced.out.layers[1]?.key ?? ""))?.id, forced.out.layers[1]?.id, "the key points at the new layer");
    const whole = await build(steps, { force: true });
    assert.equal(whole.calls.length, 3);
  });

  it("WORKDIR and USER run as root and are layers of their own", async () => {
    const { calls, out } = await build([{ type: "USER", args: ["guest"], force: false }, { type: "WORKDIR", args: ["/srv/app"], force: false }, run("w pwd")]);
    assert.deepEqual(
      calls.map((c) => c.user),
      ["root", "root", "guest"],
    );
    assert.equal(calls[2]?.workdir, "/srv/app");
    assert.match(calls[1]?.what ?? "", /mkdir -p/);
    assert.equal(out.layers.length, 3);
  });

  it("a failing step fails the build with its number, exit code and output tail, and commits nothing", async () => {
    const before = await store.keys();
    const err = await build([run("ok first"), run("exit 3")]).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BuildStepError, String(err));
    assert.equal(err.code, "step_failed");
    assert.equal(err.step, "2");
    assert.match(err.message, /step 2 \(RUN exit 3\) exited with code 3/);
    assert.deepEqual(err.tail, ["line"]);
    const after = await store.keys();
    assert.equal(after.size, before.size + 1, "only the step that passed was committed");
    assert.deepEqual(readdirSync(join(root, "store/staging")), []);
    const thrown = await build([run("throw")]).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(thrown instanceof BuildStepError && thrown.step === "1");
    // A RUN that could not run is worded as E2B's builder words it.
    assert.equal(thrown.message, "step 1 (RUN throw) failed: failed to run command 'throw': sandbox died");
  });

  it("checks the start and ready commands on the final layers, failing as `finalize`", async () => {
    const ok = await build([run("c one")], { startCmd: "server", readyCmd: "true" });
    assert.deepEqual(
      ok.calls.map((c) => c.kind),
      ["run", "check"],
    );
    assert.deepEqual(ok.calls[1]?.lower, ok.out.lower);
    const err = await build([run("c one")], { startCmd: "server", readyCmd: "false" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BuildStepError && err.step === "finalize" && err.code === "start_failed", String(err));
    assert.deepEqual(readdirSync(join(root, "store/staging")), []);
  });

  it("a canceled build stops before its next step", async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(build([run("never")], { signal: controller.signal }), (e: unknown) => e instanceof BuilderError && e.code === "canceled");
  });

  it("removing a layer drops its key only if the key still points at it", async () => {
    const first = await build([run("r one")]);
    const layer = first.out.layers[0];
    assert.ok(layer);
    await store.remove(layer.id);
    assert.equal(await store.get(layer.key), undefined);
    assert.ok(!existsSync(layer.dir));
    await assert.rejects(store.remove("../x"), (e: unknown) => e instanceof BuilderError && e.code === "invalid_spec");
  });
});

describe("step scripts", () => {
  it("quote keeps every byte literal in sh", () => {
    for (const value of ["plain", "it's", "$(touch /nope)", "`id`", 'a"b', "new\nline", "*"]) {
      assert.equal(execFileSync("sh", ["-c", `printf %s ${quote(value)}`], { encoding: "utf8" }), value);
    }
  });

  it("the WORKDIR script creates nested dirs whatever their names, and leaves an existing one alone", () => {
    const dir = mkdtempSync(join(tmpdir(), "cove-wd-"));
    try {
      const target = join(dir, "a b", "it's $(x)");
      execFileSync("sh", ["-c", workdirScript(target, "root")]);
      assert.ok(existsSync(target));
      execFileSync("sh", ["-c", workdirScript(target, "root")]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the USER script leaves an existing user alone and skips numeric ids", () => {
    execFileSync("sh", ["-c", userScript("root")]);
    assert.equal(userScript("1000:1000"), "true");
  });
});
