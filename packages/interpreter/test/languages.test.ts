import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startInterpreter, type TestInterpreter } from "./helpers/interpreter.js";

describe("javascript, typescript and bash through the SDK", () => {
  let t: TestInterpreter;
  before(async () => {
    t = await startInterpreter();
  });
  after(async () => {
    await t?.close();
  });

  it("javascript: last expression, console output and state", async () => {
    const first = await t.sandbox.runCode("const a = 20; console.log('a is', a); console.error('warn'); a + 1", { language: "javascript" });
    assert.equal(first.text, "21");
    assert.deepEqual(first.logs.stdout, ["a is 20\n"]);
    assert.deepEqual(first.logs.stderr, ["warn\n"]);
    assert.equal((await t.sandbox.runCode("a * 2", { language: "js" })).text, "40");
    assert.equal((await t.sandbox.runCode("({ x: [1, 2] })", { language: "js" })).text, "{ x: [ 1, 2 ] }");
    assert.equal((await t.sandbox.runCode("'text'", { language: "js" })).text, "text");
  });

  it("javascript: console output keeps its order with the result", async () => {
    const events: string[] = [];
    await t.sandbox.runCode("console.log('a'); console.error('b'); console.log('c'); 'r'", {
      language: "js",
      onStdout: (m) => events.push(`out:${m.line}`),
      onStderr: (m) => events.push(`err:${m.line}`),
      onResult: (r) => events.push(`result:${r.text}`),
    });
    assert.deepEqual(events, ["out:a\n", "err:b\n", "out:c\n", "result:r"]);
  });

  it("javascript: a promise as the last expression is awaited; modules load", async () => {
    assert.equal((await t.sandbox.runCode("new Promise((resolve) => setTimeout(() => resolve(7), 10))", { language: "js" })).text, "7");
    assert.equal((await t.sandbox.runCode("require('node:path').join('a', 'b')", { language: "js" })).text, "a/b");
    assert.equal((await t.sandbox.runCode("import('node:os').then((os) => typeof os.cpus)", { language: "js" })).text, "function");
  });

  it("javascript: import declarations and top-level await, as in Node's REPL; names persist between cells", async () => {
    const js = await t.sandbox.createCodeContext({ language: "js" });
    const run = (code: string) => t.sandbox.runCode(code, { context: js });
    const imported = await run(
      "import { readFileSync } from 'fs'\nimport * as path from 'node:path'\nimport os from 'os'\nconsole.log(typeof readFileSync, typeof os.cpus)\npath.join('a', 'b')",
    );
    assert.deepEqual(imported.logs.stdout, ["function function\n"]);
    assert.equal(imported.text, "a/b");
    assert.equal((await run("await Promise.resolve('Hello World!')")).text, "Hello World!");
    const declared = await run(
      "const n = await Promise.resolve(20)\nlet { a, ...rest } = { a: 1, b: 2 }\nfunction twice(x) { return x * 2 }\nclass Box { constructor(v) { this.v = v } }",
    );
    assert.equal(declared.error, undefined, declared.error?.traceback);
    assert.equal(declared.text, undefined, "a declaration has no value");
    assert.equal((await run("twice(n) + a + rest.b + new Box(1).v + readFileSync.length * 0")).text, "44");
    const failed = await run("await Promise.reject(new RangeError('nope'))");
    assert.equal(failed.error?.name, "RangeError");
    assert.equal(failed.error?.value, "nope");
    const ts = await t.sandbox.runCode("const s: string = await Promise.resolve('typed'); s", { language: "ts" });
    assert.equal(ts.text, "typed");
  });

  it("javascript: an exception is an error with name, value and stack", async () => {
    const execution = await t.sandbox.runCode("function f() { throw new TypeError('boom'); }\nf()", { language: "javascript" });
    assert.equal(execution.error?.name, "TypeError");
    assert.equal(execution.error?.value, "boom");
    assert.match(execution.error?.traceback ?? "", /TypeError: boom\n\s+at f/);
    assert.doesNotMatch(execution.error?.traceback ?? "", /js_kernel/);
  });

  it("javascript: env vars apply to one execution only; cwd is the context's", async () => {
    assert.equal((await t.sandbox.runCode("process.env.COVE_JS_VAR", { language: "js", envs: { COVE_JS_VAR: "set" } })).text, "set");
    assert.equal((await t.sandbox.runCode("String(process.env.COVE_JS_VAR)", { language: "js" })).text, "undefined");
    assert.equal((await t.sandbox.runCode("process.cwd()", { language: "js" })).text, t.cwd);
  });

  it("typescript: types are stripped, state persists, counts its own executions", async () => {
    const first = await t.sandbox.runCode("interface P { n: number }\nconst p: P = { n: 2 };\nenum Color { Red, Green }\np.n + Color.Green", {
      language: "typescript",
    });
    assert.equal(first.error, undefined, first.error?.traceback);
    assert.equal(first.text, "3");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript for the kernel
    const second = await t.sandbox.runCode("const q = (x: number): string => `n=${x}`; q(p.n)", { language: "ts" });
    assert.equal(second.text, "n=2");
    assert.equal(second.executionCount, (first.executionCount ?? 0) + 1);
    const bad = await t.sandbox.runCode("const r: number = ", { language: "ts" });
    assert.equal(bad.error?.name, "SyntaxError");
  });

  it("bash: output, state (variables, functions, cwd) and env vars", async () => {
    const first = await t.sandbox.runCode('echo hello\nGREETING=hi\ngreet() { echo "$GREETING $1"; }\nmkdir -p sub && cd sub', { language: "bash" });
    assert.deepEqual(first.logs.stdout, ["hello\n"]);
    assert.equal(first.error, undefined);
    const second = await t.sandbox.runCode('greet world; pwd; echo "$COVE_BASH_VAR" >&2', { language: "bash", envs: { COVE_BASH_VAR: "it's set" } });
    assert.deepEqual(second.logs.stdout, ["hi world\n", `${t.cwd}/sub\n`]);
    assert.deepEqual(second.logs.stderr, ["it's set\n"]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash for the kernel
    const third = await t.sandbox.runCode('echo "[${COVE_BASH_VAR-unset}]"', { language: "bash" });
    assert.deepEqual(third.logs.stdout, ["[unset]\n"]);
    assert.equal((third.executionCount ?? 0) - (first.executionCount ?? 0), 2);
  });

  it("bash: a failing last command is an error carrying its exit status", async () => {
    const execution = await t.sandbox.runCode("echo before; ls /definitely/not/here", { language: "bash" });
    assert.deepEqual(execution.logs.stdout, ["before\n"]);
    assert.match(execution.logs.stderr.join(""), /No such file or directory/);
    assert.equal(execution.error?.value, "2");
  });

  it("bash: a command's stdin is empty, never the kernel's", async () => {
    const execution = await t.sandbox.runCode("cat; echo after-cat", { language: "bash" });
    assert.deepEqual(execution.logs.stdout, ["after-cat\n"]);
  });

  it("stdin is empty in every language, never the kernel's commands", async () => {
    assert.equal((await t.sandbox.runCode("require('node:fs').readFileSync(0, 'utf8').length", { language: "js" })).text, "0");
    assert.equal((await t.sandbox.runCode("import sys; len(sys.stdin.read())")).text, "0");
    assert.equal((await t.sandbox.runCode("input()")).error?.name, "EOFError");
    assert.equal((await t.sandbox.runCode("1 + 1", { language: "js" })).text, "2");
  });

  it("output without a final newline still arrives", async () => {
    assert.deepEqual((await t.sandbox.runCode("printf 'no newline'", { language: "bash" })).logs.stdout, ["no newline"]);
    assert.deepEqual((await t.sandbox.runCode("process.stdout.write('partial')", { language: "js" })).logs.stdout, ["partial"]);
    assert.deepEqual((await t.sandbox.runCode("import sys; sys.stdout.write('py partial')", { language: "python" })).logs.stdout, ["py partial"]);
  });
});
