import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NotFoundError } from "@e2b/code-interpreter";
import { startInterpreter, type TestInterpreter } from "./helpers/interpreter.js";

describe("contexts", () => {
  let t: TestInterpreter;
  before(async () => {
    t = await startInterpreter();
  });
  after(async () => {
    await t?.close();
  });

  it("create, list, restart and remove", async () => {
    const context = await t.sandbox.createCodeContext({ language: "python" });
    assert.deepEqual(context, { id: context.id, language: "python", cwd: t.cwd });
    const js = await t.sandbox.createCodeContext({ language: "js" });
    assert.equal(js.language, "javascript");
    const listed = await t.sandbox.listCodeContexts();
    assert.ok(listed.some((c) => c.id === context.id && c.language === "python" && c.cwd === t.cwd));
    assert.ok(listed.some((c) => c.id === js.id && c.language === "javascript"));

    await t.sandbox.runCode("kept = 1", { context });
    await t.sandbox.restartCodeContext(context);
    const afterRestart = await t.sandbox.runCode("kept", { context });
    assert.equal(afterRestart.error?.name, "NameError");
    assert.equal(afterRestart.executionCount, 1);

    await t.sandbox.removeCodeContext(context.id);
    await t.sandbox.removeCodeContext(js);
    const remaining = await t.sandbox.listCodeContexts();
    assert.ok(!remaining.some((c) => c.id === context.id || c.id === js.id));
    await assert.rejects(
      t.sandbox.runCode("1", { context }),
      (err: unknown) => err instanceof NotFoundError && err.message.includes(`Context ${context.id} not found`),
    );
    await assert.rejects(t.sandbox.restartCodeContext(context), NotFoundError);
    await assert.rejects(t.sandbox.removeCodeContext(context), NotFoundError);
  });

  it("a context's state is its own", async () => {
    const a = await t.sandbox.createCodeContext();
    const b = await t.sandbox.createCodeContext();
    await t.sandbox.runCode("secret = 'a'", { context: a });
    assert.equal((await t.sandbox.runCode("secret", { context: a })).text, "a");
    assert.equal((await t.sandbox.runCode("secret", { context: b })).error?.name, "NameError");
    assert.equal((await t.sandbox.runCode("'secret' in dir()")).text, "False", "the default context is another one");
  });

  it("the default context of a language is made on first use and listed", async () => {
    await t.sandbox.runCode("echo hi", { language: "bash" });
    await t.sandbox.runCode("BASH_STATE=1", { language: "bash" });
    assert.deepEqual((await t.sandbox.runCode("echo $BASH_STATE", { language: "bash" })).logs.stdout, ["1\n"]);
    assert.equal((await t.sandbox.listCodeContexts()).filter((c) => c.language === "bash").length, 1);
  });

  it("executions in one context run one after another, in order", async () => {
    const context = await t.sandbox.createCodeContext();
    const slow = t.sandbox.runCode("import time\ntime.sleep(0.3)\norder = ['slow']", { context });
    const fast = t.sandbox.runCode("order.append('fast'); order", { context });
    const [, second] = await Promise.all([slow, fast]);
    assert.equal(second.text, "['slow', 'fast']");
  });

  it("5 contexts execute at once", async () => {
    const dir = mkdtempSync(join(t.cwd, "meet-"));
    const contexts = await Promise.all([0, 1, 2, 3, 4].map(() => t.sandbox.createCodeContext()));
    // Each execution arrives, then waits (up to 60 s) until all five have arrived:
    // serialized contexts would never see five.
    const code = (i: number) =>
      `import os, time\nopen(os.path.join(${JSON.stringify(dir)}, '${i}'), 'w').close()\nfor _ in range(1200):\n    if len(os.listdir(${JSON.stringify(dir)})) == 5:\n        break\n    time.sleep(0.05)\nlen(os.listdir(${JSON.stringify(dir)}))`;
    const executions = await Promise.all(contexts.map((context, i) => t.sandbox.runCode(code(i), { context, timeoutMs: 120_000 })));
    assert.deepEqual(
      executions.map((e) => e.text),
      ["5", "5", "5", "5", "5"],
    );
  });

  it("a missing working directory is a 400", async () => {
    const res = await fetch(`${t.url}/contexts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cwd: "/no/such/dir" }),
    });
    assert.equal(res.status, 400);
    assert.equal(await res.text(), "Working directory '/no/such/dir' does not exist");
  });
});

describe("the wire: /execute errors, /health and the access token", () => {
  let t: TestInterpreter;
  before(async () => {
    t = await startInterpreter({ accessToken: "envd-token" });
  });
  after(async () => {
    await t?.close();
  });

  const post = (body: unknown, token: string | null = "envd-token") =>
    fetch(`${t.url}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token === null ? {} : { "x-access-token": token }) },
      body: JSON.stringify(body),
    });

  it("the SDK sends the sandbox's envd token and runs code", async () => {
    assert.equal((await t.sandbox.runCode("6 * 7")).text, "42");
  });

  it("a missing or wrong X-Access-Token is a 401", async () => {
    assert.equal((await post({ code: "1" }, null)).status, 401);
    assert.equal((await post({ code: "1" }, "wrong")).status, 401);
  });

  it("context_id with language is a 400, an unknown context a 404, an unknown language a 400", async () => {
    const both = await post({ code: "1", context_id: "x", language: "python" });
    assert.equal(both.status, 400);
    assert.equal(await both.text(), "Only one of context_id or language can be provided");
    const unknown = await post({ code: "1", context_id: "nope" });
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), "Context nope not found");
    const language = await post({ code: "1", language: "cobol" });
    assert.equal(language.status, 400);
  });

  it("GET /health answers OK", async () => {
    const res = await fetch(`${t.url}/health`);
    assert.equal(res.status, 200);
    assert.equal(await res.json(), "OK");
  });
});

describe("a kernel that cannot start", () => {
  let t: TestInterpreter;
  before(async () => {
    t = await startInterpreter({ python: "/bin/false", bash: "/no/such/bash" });
  });
  after(async () => {
    await t?.close();
  });

  it("fails the request with a 500 that names the kernel", async () => {
    const exited = await fetch(`${t.url}/contexts`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(exited.status, 500);
    assert.equal(await exited.text(), "the python kernel exited while starting (its output is in the execution server's log)");
    const missing = await fetch(`${t.url}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: "echo", language: "bash" }),
    });
    assert.equal(missing.status, 500);
    assert.equal(await missing.text(), "the bash kernel could not be started");
    assert.deepEqual(await t.sandbox.listCodeContexts(), []);
    assert.equal((await t.sandbox.runCode("1 + 1", { language: "js" })).text, "2", "other languages still work");
  });
});
