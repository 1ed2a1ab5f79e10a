// The build planner: step validation, the state each step runs with (E2B's user/workdir rules),
// cache keys, and which steps are reused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BuildStep } from "../src/build-spec.js";
import { BuilderError } from "../src/errors.js";
import { initialState, planBuild, sourceKey, stepKey } from "../src/index.js";

const HASH = "a".repeat(64);
const run = (cmd: string, force = false): BuildStep => ({ type: "RUN", args: [cmd], force });
const src = sourceKey({ kind: "image", digest: `sha256:${"1".repeat(64)}` });
const plan = (steps: BuildStep[], cached: Set<string> = new Set(), force = false) =>
  planBuild({ steps, force }, { sourceKey: src, initial: initialState({ PATH: "/usr/bin" }), isCached: (k) => cached.has(k) });
const invalid = (pattern: RegExp) => (err: unknown) => err instanceof BuilderError && err.code === "invalid_spec" && pattern.test(err.message);

describe("build plan", () => {
  it("starts as E2B does: user `user` in /home/user with the source's env", () => {
    const p = plan([run("id")]);
    assert.deepEqual(p.steps[0]?.state, { user: "user", workdir: "/home/user", workdirSet: false, env: { PATH: "/usr/bin" } });
    assert.equal(p.steps[0]?.index, 1);
  });

  it("accumulates ENV, ARG, WORKDIR and USER into later steps and the final state", () => {
    const p = plan([
      { type: "ENV", args: ["A", "1", "B", "two words"], force: false },
      { type: "USER", args: ["guest"], force: false },
      run("pwd"),
      { type: "WORKDIR", args: ["/app"], force: false },
      { type: "WORKDIR", args: ["sub"], force: false },
      { type: "ARG", args: ["A", "3"], force: false },
      { type: "USER", args: ["root"], force: false },
      run("pwd"),
    ]);
    // Before any WORKDIR, USER moves the workdir to the user's home.
    assert.equal(p.steps[2]?.state.workdir, "/home/guest");
    assert.equal(p.steps[2]?.state.user, "guest");
    assert.equal(p.steps[7]?.state.workdir, "/app/sub");
    assert.equal(p.steps[7]?.state.user, "root");
    assert.deepEqual(p.final.env, { PATH: "/usr/bin", A: "3", B: "two words" });
    assert.equal(p.final.workdir, "/app/sub");
  });

  it("chains keys: a change to one step changes its key and every later one, not earlier ones", () => {
    const a = plan([run("one"), run("two"), run("three")]);
    const b = plan([run("one"), run("TWO"), run("three")]);
    assert.equal(a.steps[0]?.key, b.steps[0]?.key);
    assert.notEqual(a.steps[1]?.key, b.steps[1]?.key);
    assert.notEqual(a.steps[2]?.key, b.steps[2]?.key);
    assert.equal(a.steps[0]?.key, stepKey(src, run("one")));
    assert.equal(a.finalKey, a.steps[2]?.key);
    // Another source changes everything; force does not change keys.
    const other = sourceKey({ kind: "template", buildId: "b1" });
    assert.notEqual(
      planBuild({ steps: [run("one")], force: false }, { sourceKey: other, initial: initialState(), isCached: () => false }).steps[0]?.key,
      a.steps[0]?.key,
    );
    assert.equal(plan([run("one", true)]).steps[0]?.key, a.steps[0]?.key);
  });

  it("a COPY's key follows its files' hash", () => {
    const copy = (h: string): BuildStep => ({ type: "COPY", args: ["f", "/f", "", ""], force: false, filesHash: h });
    assert.notEqual(plan([copy(HASH)]).steps[0]?.key, plan([copy("b".repeat(64))]).steps[0]?.key);
  });

  it("reuses cached steps up to the first that must run, and none after it", () => {
    const steps = [run("one"), run("two"), run("three")];
    const all = new Set(plan(steps).steps.map((s) => s.key));
    assert.deepEqual(
      plan(steps, all).steps.map((s) => s.cached),
      [true, true, true],
    );
    const withoutSecond = new Set([...all].filter((k) => k !== plan(steps).steps[1]?.key));
    assert.deepEqual(
      plan(steps, withoutSecond).steps.map((s) => s.cached),
      [true, false, false],
    );
    assert.deepEqual(
      plan([run("one"), run("two", true), run("three")], all).steps.map((s) => s.cached),
      [true, false, false],
    );
    assert.deepEqual(
      plan(steps, all, true).steps.map((s) => s.cached),
      [false, false, false],
    );
  });

  it("a build without steps ends at its source", () => {
    const p = plan([]);
    assert.equal(p.finalKey, src);
    assert.deepEqual(p.steps, []);
  });

  it("refuses malformed steps, naming the step", () => {
    assert.throws(() => plan([run("ok"), { type: "RUN", args: [], force: false }]), invalid(/^step 2 \(RUN\)/));
    assert.throws(() => plan([{ type: "ENV", args: ["A"], force: false }]), invalid(/key, value pairs/));
    assert.throws(() => plan([{ type: "ENV", args: ["1A", "x"], force: false }]), invalid(/invalid variable name '1A'/));
    assert.throws(() => plan([{ type: "COPY", args: ["a", "/b", "", ""], force: false }]), invalid(/filesHash/));
    assert.throws(() => plan([{ type: "COPY", args: ["a", "/b", "", "9z"], force: false, filesHash: HASH }]), invalid(/invalid mode '9z'/));
    assert.throws(() => plan([{ type: "USER", args: ["Bad User"], force: false }]), invalid(/invalid user/));
    assert.throws(() => plan([{ type: "RUN", args: ["id", "x;rm"], force: false }]), invalid(/invalid user 'x;rm'/));
    assert.throws(() => plan([{ type: "WORKDIR", args: [""], force: false }]), invalid(/expects \[path\]/));
    assert.throws(() => plan([{ type: "RUN", args: ["a\0b"], force: false }]), invalid(/NUL/));
    assert.throws(() => plan([{ type: "HEALTHCHECK" as "RUN", args: ["x"], force: false }]), invalid(/unknown step type/));
  });

  it("takes numeric users as Dockerfiles write them", () => {
    assert.equal(plan([{ type: "USER", args: ["1000:1000"], force: false }]).final.user, "1000:1000");
  });
});
