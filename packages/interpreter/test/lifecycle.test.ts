import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TimeoutError } from "@e2b/code-interpreter";
import { startInterpreter, type TestInterpreter } from "./helpers/interpreter.js";

describe("interrupts, dead kernels and the raw stream", () => {
  let t: TestInterpreter;
  before(async () => {
    // Keepalives every 50 ms so a short execution shows some; a kernel that ignores SIGINT is killed 2 s after it.
    t = await startInterpreter({}, { keepaliveMs: 50, interruptGraceMs: 2000 });
  });
  after(async () => {
    await t?.close();
  });

  it("the stream: number_of_executions first, end_of_execution last, keepalives between, ASCII JSON lines only", async () => {
    const res = await fetch(`${t.url}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: "import time\nprint('caf\u00e9')\ntime.sleep(0.5)\n'\u2713'" }),
    });
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /^[\x20-\x7e\n]*$/, "ASCII only");
    assert.ok(body.endsWith("\n"));
    const lines = body.slice(0, -1).split("\n");
    assert.ok(
      lines.every((line) => line.length > 0),
      "no blank lines",
    );
    const types = lines.map((line) => (JSON.parse(line) as { type: string }).type);
    assert.equal(types[0], "number_of_executions");
    assert.equal(types.at(-1), "end_of_execution");
    assert.ok(types.includes("keepalive"));
    const meaningful = types.filter((type) => type !== "keepalive");
    assert.deepEqual(meaningful, ["number_of_executions", "stdout", "result", "end_of_execution"]);
    const stdout = lines.map((line) => JSON.parse(line) as { type: string; text?: string; timestamp?: string }).find((l) => l.type === "stdout");
    assert.equal(stdout?.text, "caf\u00e9\n");
    assert.ok(!Number.isNaN(Date.parse(stdout?.timestamp ?? "")), "ISO timestamp");
  });

  it("python: a timeout interrupts the kernel and the context keeps its state", async () => {
    const context = await t.sandbox.createCodeContext();
    await t.sandbox.runCode("state = 'kept'", { context });
    await assert.rejects(t.sandbox.runCode("import time\nwhile True:\n    time.sleep(0.05)", { context, timeoutMs: 1000 }), TimeoutError);
    const next = await t.sandbox.runCode("state", { context });
    assert.equal(next.error, undefined);
    assert.equal(next.text, "kept");
  });

  it("a caller that disconnects interrupts the kernel", async () => {
    const context = await t.sandbox.createCodeContext();
    const abort = new AbortController();
    const res = await fetch(`${t.url}/execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        code: "import time\nprint('started', flush=True)\nfor _ in range(6000):\n    time.sleep(0.01)\nreached_end = True",
        context_id: context.id,
      }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let seen = "";
    while (!seen.includes('"stdout"')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    abort.abort();
    const next = await t.sandbox.runCode("'reached_end' in dir()", { context });
    assert.equal(next.text, "False", "the interrupted loop never finished");
  });

  it("javascript and bash: a timeout interrupts, the context stays usable", async () => {
    const js = await t.sandbox.createCodeContext({ language: "javascript" });
    await t.sandbox.runCode("globalThis.kept = 'js'", { context: js });
    await assert.rejects(t.sandbox.runCode("while (true) {}", { context: js, timeoutMs: 1000 }), TimeoutError);
    assert.equal((await t.sandbox.runCode("kept", { context: js })).text, "js");

    const bash = await t.sandbox.createCodeContext({ language: "bash" });
    await t.sandbox.runCode("KEPT=bash", { context: bash });
    await assert.rejects(t.sandbox.runCode("sleep 600", { context: bash, timeoutMs: 1000 }), TimeoutError);
    assert.deepEqual((await t.sandbox.runCode("echo $KEPT", { context: bash })).logs.stdout, ["bash\n"]);
  });

  it("a kernel that ignores the interrupt is killed and restarted", async () => {
    const context = await t.sandbox.createCodeContext();
    await assert.rejects(
      t.sandbox.runCode("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", { context, timeoutMs: 1000 }),
      TimeoutError,
    );
    const next = await t.sandbox.runCode("'signal' in dir()", { context });
    assert.equal(next.text, "False", "a fresh kernel");
  });

  for (const [how, code] of [
    ["os._exit", "import os\nos._exit(1)"],
    ["SIGKILL", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"],
  ] as const) {
    it(`a kernel that dies (${how}) is reported and the context restarts cleanly`, async () => {
      const context = await t.sandbox.createCodeContext();
      await t.sandbox.runCode("before = 1", { context });
      const errors: string[] = [];
      const died = await t.sandbox.runCode(`print('last words', flush=True)\n${code}`, { context, onError: (e) => errors.push(e.name) });
      assert.equal(died.error?.name, "UnexpectedEndOfExecution");
      assert.deepEqual(died.logs.stdout, ["last words\n"]);
      assert.deepEqual(errors, ["UnexpectedEndOfExecution"]);
      const next = await t.sandbox.runCode("'before' in dir()", { context });
      assert.equal(next.error, undefined);
      assert.equal(next.text, "False");
      assert.equal(next.executionCount, 1);
    });
  }

  it("bash: exit ends the kernel; the context restarts", async () => {
    const context = await t.sandbox.createCodeContext({ language: "bash" });
    const died = await t.sandbox.runCode("exit 3", { context });
    assert.equal(died.error?.name, "UnexpectedEndOfExecution");
    assert.deepEqual((await t.sandbox.runCode("echo alive", { context })).logs.stdout, ["alive\n"]);
  });

  it("restarting a context during an execution ends that execution", async () => {
    const context = await t.sandbox.createCodeContext();
    const running = t.sandbox.runCode("import time\nprint('go', flush=True)\ntime.sleep(600)", {
      context,
      onStdout: () => void t.sandbox.restartCodeContext(context),
    });
    const execution = await running;
    assert.equal(execution.error?.name, "UnexpectedEndOfExecution");
    assert.equal((await t.sandbox.runCode("1 + 1", { context })).text, "2");
  });

  it("removing a context during an execution ends it and leaves no kernel behind", async () => {
    const context = await t.sandbox.createCodeContext();
    const pid = Number((await t.sandbox.runCode("import os; os.getpid()", { context })).text);
    const execution = await t.sandbox.runCode("import time\nprint('go', flush=True)\ntime.sleep(600)", {
      context,
      onStdout: () => void t.sandbox.removeCodeContext(context),
    });
    assert.equal(execution.error?.name, "UnexpectedEndOfExecution");
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.ok(!(await t.sandbox.listCodeContexts()).some((c) => c.id === context.id));
  });
});
