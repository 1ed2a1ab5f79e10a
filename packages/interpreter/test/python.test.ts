import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { OutputMessage, Result } from "@e2b/code-interpreter";
import { startInterpreter, type TestInterpreter } from "./helpers/interpreter.js";

describe("python through the SDK", () => {
  let t: TestInterpreter;
  before(async () => {
    t = await startInterpreter();
  });
  after(async () => {
    await t?.close();
  });

  it("the last expression is the main result and state stays in the context", async () => {
    const first = await t.sandbox.runCode("x = 41; x + 1");
    assert.equal(first.text, "42");
    assert.equal(first.error, undefined);
    assert.equal(first.results.length, 1);
    assert.equal(first.results[0]?.isMainResult, true);
    const second = await t.sandbox.runCode("x");
    assert.equal(second.text, "41");
  });

  it("a string result loses its quotes", async () => {
    assert.equal((await t.sandbox.runCode("'hello'")).text, "hello");
  });

  it("streams stdout and stderr lines to the callbacks in order", async () => {
    const events: string[] = [];
    const stdout: OutputMessage[] = [];
    const execution = await t.sandbox.runCode(
      "import sys\nfor i in range(3):\n    print(f'line {i}')\nprint('oops', file=sys.stderr)\nprint('done')\n'result'",
      {
        onStdout: (m) => {
          stdout.push(m);
          events.push(`out:${m.line}`);
        },
        onStderr: (m) => events.push(`err:${m.line}`),
        onResult: (r: Result) => events.push(`result:${r.text}`),
      },
    );
    assert.deepEqual(execution.logs.stdout, ["line 0\n", "line 1\n", "line 2\n", "done\n"]);
    assert.deepEqual(execution.logs.stderr, ["oops\n"]);
    assert.deepEqual(
      events.filter((e) => e.startsWith("out:")),
      ["out:line 0\n", "out:line 1\n", "out:line 2\n", "out:done\n"],
    );
    assert.equal(events.at(-1), "result:result");
    assert.ok(stdout.every((m) => m.error === false && typeof m.timestamp === "number"));
  });

  it("prints, warnings and display() keep their order; a child process's output arrives too", async () => {
    const events: string[] = [];
    const execution = await t.sandbox.runCode(
      "import sys, subprocess\nfrom IPython.display import HTML, display\nprint('a')\ndisplay(HTML('<i>x</i>'))\nprint('b', file=sys.stderr)\nprint('c', end='')\ndisplay(HTML('<i>y</i>'))\nsubprocess.run(['echo', 'from child'])\nNone",
      {
        onStdout: (m) => events.push(`out:${m.line}`),
        onStderr: (m) => events.push(`err:${m.line}`),
        onResult: (r) => events.push(`result:${r.html}`),
      },
    );
    assert.deepEqual(events.slice(0, 5), ["out:a\n", "result:<i>x</i>", "err:b\n", "out:c", "result:<i>y</i>"]);
    assert.deepEqual(execution.logs.stdout, ["a\n", "c", "from child\n"]);
  });

  it("print gives one stdout item per line", async () => {
    const lines: string[] = [];
    const execution = await t.sandbox.runCode('print("hello")', { onStdout: (m) => lines.push(m.line) });
    assert.deepEqual(lines, ["hello\n"]);
    assert.deepEqual(execution.logs.stdout, ["hello\n"]);
  });

  it("an exception is an error with name, value and traceback", async () => {
    const errors: string[] = [];
    const execution = await t.sandbox.runCode("def f():\n    raise ValueError('bad value')\nf()", { onError: (e) => errors.push(e.name) });
    assert.equal(execution.error?.name, "ValueError");
    assert.equal(execution.error?.value, "bad value");
    assert.match(execution.error?.traceback ?? "", /Traceback/);
    assert.match(execution.error?.traceback ?? "", /raise ValueError\('bad value'\)/);
    assert.deepEqual(errors, ["ValueError"]);
  });

  it("a syntax error is an error too", async () => {
    const execution = await t.sandbox.runCode("def f(:");
    assert.equal(execution.error?.name, "SyntaxError");
  });

  it("counts executions in a context", async () => {
    const context = await t.sandbox.createCodeContext();
    const counts: (number | undefined)[] = [];
    for (const code of ["1", "raise Exception('x')", "3"]) counts.push((await t.sandbox.runCode(code, { context })).executionCount);
    assert.deepEqual(counts, [1, 2, 3]);
  });

  it("a Pillow image saved to a file, shown, or last is an image/png result, base64 as from Jupyter", async () => {
    const file = join(t.cwd, "red.png");
    const exec = await t.sandbox.runCode(`from PIL import Image\nimg = Image.new("RGB", (4, 4), "red")\nimg.save(${JSON.stringify(file)})\nimg.show()\nimg`);
    assert.equal(exec.error, undefined, exec.error?.traceback);
    assert.equal(exec.results.length, 3, "save, show and the last expression");
    for (const result of exec.results) {
      const png = Buffer.from(result.png ?? "", "base64");
      assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    }
    assert.ok(existsSync(file), "the file is saved too");
  });

  it("env vars apply to one execution only", async () => {
    const withVar = await t.sandbox.runCode("import os; os.getenv('COVE_TEST_VAR')", { envs: { COVE_TEST_VAR: "bar" } });
    assert.equal(withVar.text, "bar");
    const without = await t.sandbox.runCode("import os; os.getenv('COVE_TEST_VAR', 'default')");
    assert.equal(without.text, "default");
  });

  it("runs in the default cwd, or the context's own", async () => {
    assert.equal((await t.sandbox.runCode("import os; os.getcwd()")).text, t.cwd);
    const dir = join(t.cwd, "sub");
    mkdirSync(dir);
    const context = await t.sandbox.createCodeContext({ cwd: dir });
    assert.equal(context.cwd, dir);
    assert.equal((await t.sandbox.runCode("import os; os.getcwd()", { context })).text, dir);
    const shell = await t.sandbox.runCode("!pwd", { context });
    assert.equal(shell.logs.stdout.join("").trim(), dir);
  });

  it("display() of IPython objects gives results of their MIME types", async () => {
    const execution = await t.sandbox.runCode(
      [
        "from IPython.display import HTML, Markdown, SVG, JSON, Latex, Image, display",
        "display(HTML('<b>bold</b>'))",
        "display(Markdown('# Title'))",
        'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>\'))',
        "display(JSON({'k': [1, 2]}))",
        "display(Latex(r'$\\alpha$'))",
        "import base64",
        "png = base64.b64decode('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==')",
        "display(Image(data=png, format='png'))",
      ].join("\n"),
    );
    assert.equal(execution.error, undefined);
    const [html, markdown, svg, json, latex, image] = execution.results;
    assert.equal(html?.html, "<b>bold</b>");
    assert.equal(markdown?.markdown, "# Title");
    assert.match(svg?.svg ?? "", /^<svg/);
    assert.deepEqual(json?.json, { k: [1, 2] });
    assert.equal(latex?.latex, "$\\alpha$");
    assert.match(image?.png ?? "", /^iVBORw0KGgo/);
    assert.ok(execution.results.every((r) => r.isMainResult === false));
    assert.ok(image?.formats().includes("png"));
  });

  it("a dict as the last expression also has a JSON form", async () => {
    const execution = await t.sandbox.runCode("{'a': [1, 2], 'b': None}");
    assert.deepEqual(execution.results[0]?.json, { a: [1, 2], b: null });
  });

  it("a DataFrame gives html and its columns as data", async () => {
    const execution = await t.sandbox.runCode("import pandas as pd\npd.DataFrame({'a': [1, 2, 3], 'b': [1.5, float('nan'), 2.0], 'c': ['x', 'y', 'z']})");
    const result = execution.results[0];
    assert.equal(result?.isMainResult, true);
    assert.match(result?.html ?? "", /<table/);
    assert.deepEqual(result?.data, { a: [1, 2, 3], b: [1.5, null, 2], c: ["x", "y", "z"] });
  });

  it("plt.show() and a figure as the last expression each give one image result", async () => {
    const shown = await t.sandbox.runCode("import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [4, 5, 6])\nplt.show()");
    assert.equal(shown.results.length, 1);
    assert.match(shown.results[0]?.png ?? "", /^iVBORw0KGgo/);
    assert.match(shown.results[0]?.text ?? "", /Figure/);
    assert.deepEqual(shown.results[0]?.extra, {});
    const last = await t.sandbox.runCode("fig, ax = plt.subplots()\nax.plot([1, 2], [3, 4])\nfig");
    assert.equal(last.results.length, 1);
    assert.equal(last.results[0]?.isMainResult, true);
    assert.match(last.results[0]?.png ?? "", /^iVBORw0KGgo/);
    const unshown = await t.sandbox.runCode("plt.figure()\nplt.plot([1, 2], [3, 4])");
    assert.ok(
      unshown.results.some((r) => r.png !== undefined),
      "a figure left open is shown when the cell ends",
    );
  });

  it("non-ASCII output arrives intact", async () => {
    const execution = await t.sandbox.runCode("print('h\u00e9llo \u2713 \u6f22\u5b57')\n'\u00fc'");
    assert.deepEqual(execution.logs.stdout, ["h\u00e9llo \u2713 \u6f22\u5b57\n"]);
    assert.equal(execution.text, "\u00fc");
  });
});
