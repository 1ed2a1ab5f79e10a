import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InterpreterError } from "../src/errors.js";
import { parseExecuteBody } from "../src/execute.js";
import { OutputStream } from "../src/kernels/output-stream.js";
import { type ExecutionSink, startedFirst } from "../src/kernels/protocol.js";
import { normalizeLanguage } from "../src/language.js";
import { encodeLine, resultLine } from "../src/output.js";

describe("resultLine", () => {
  const cases: [string, Record<string, unknown>, boolean, object][] = [
    ["strips one pair of single quotes", { "text/plain": "'abc'" }, true, { text: "abc" }],
    ["strips one pair of double quotes", { "text/plain": '"a"b"' }, false, { text: 'a"b' }],
    ["keeps a lone quote", { "text/plain": "'" }, true, { text: "'" }],
    [
      "maps every known MIME type",
      {
        "text/html": "<b/>",
        "text/markdown": "# m",
        "image/svg+xml": "<svg/>",
        "image/png": "iVB",
        "image/jpeg": "/9j",
        "application/pdf": "JVB",
        "text/latex": "$x$",
        "application/json": { a: 1 },
        "application/javascript": "x()",
        "e2b/data": { a: [1] },
        "e2b/chart": { type: "line" },
      },
      true,
      {
        html: "<b/>",
        markdown: "# m",
        svg: "<svg/>",
        png: "iVB",
        jpeg: "/9j",
        pdf: "JVB",
        latex: "$x$",
        json: { a: 1 },
        javascript: "x()",
        data: { a: [1] },
        chart: { type: "line" },
      },
    ],
    ["puts other MIME types into extra", { "text/plain": "x", "application/vnd.custom": "y" }, true, { text: "x", extra: { "application/vnd.custom": "y" } }],
    ["drops nulls", { "text/plain": "x", "text/html": null }, true, { text: "x" }],
  ];
  for (const [name, bundle, main, fields] of cases) {
    it(name, () => assert.deepEqual(resultLine(bundle, main), { type: "result", is_main_result: main, ...fields }));
  }
});

describe("encodeLine", () => {
  it("escapes non-ASCII and keeps one line per object", () => {
    const line = encodeLine({ type: "stdout", text: "h\u00e9llo \u2713 \ud83d\ude00\nnext", timestamp: "t" });
    assert.match(line, /^[\x20-\x7e]*\n$/);
    assert.equal(line.split("\n").length, 2);
    assert.equal((JSON.parse(line) as { text: string }).text, "h\u00e9llo \u2713 \ud83d\ude00\nnext");
  });
});

describe("normalizeLanguage", () => {
  const cases: [string | undefined, string][] = [
    [undefined, "python"],
    ["", "python"],
    ["Python", "python"],
    ["js", "javascript"],
    [" ts ", "typescript"],
    ["bash", "bash"],
    ["javascript", "javascript"],
  ];
  for (const [input, want] of cases) it(`${JSON.stringify(input)} -> ${want}`, () => assert.equal(normalizeLanguage(input), want));
  it("rejects what no kernel runs", () =>
    assert.throws(
      () => normalizeLanguage("cobol"),
      (err: unknown) => err instanceof InterpreterError && err.httpStatus === 400,
    ));
});

describe("parseExecuteBody", () => {
  it("reads the SDK's fields", () => {
    assert.deepEqual(parseExecuteBody({ code: "1", context_id: "c", env_vars: { A: "1", B: 2 } }), {
      code: "1",
      contextId: "c",
      language: undefined,
      envVars: { A: "1", B: "2" },
    });
  });
  const bad: [string, unknown, string][] = [
    ["context and language together", { code: "1", context_id: "c", language: "python" }, "Only one of context_id or language can be provided"],
    ["no code", { language: "python" }, "'code' must be a string"],
    ["not an object", [1], "request body must be a JSON object"],
    ["a variable name bash cannot take", { code: "1", env_vars: { "A B": "1" } }, "invalid environment variable name 'A B'"],
  ];
  for (const [name, body, message] of bad) {
    it(`400 for ${name}`, () =>
      assert.throws(
        () => parseExecuteBody(body),
        (err: unknown) => err instanceof InterpreterError && err.httpStatus === 400 && err.message === message,
      ));
  }
});

describe("OutputStream", () => {
  function run(chunks: string[], token = "TOKEN"): { out: string[]; ended: boolean } {
    const stream = new OutputStream();
    const out: string[] = [];
    let ended = false;
    stream.begin(
      token,
      (text) => out.push(text),
      () => (ended = true),
    );
    for (const chunk of chunks) stream.push(Buffer.from(chunk));
    return { out, ended };
  }
  it("emits whole lines and ends at the token", () => assert.deepEqual(run(["a\nb", "\nc\nTOK", "EN after"]), { out: ["a\n", "b\n", "c\n"], ended: true }));
  it("emits a partial last line when the token arrives", () => assert.deepEqual(run(["no newline", "TOKEN"]), { out: ["no newline"], ended: true }));
  it("keeps UTF-8 characters split across chunks whole", () => {
    const bytes = Buffer.from("\u2713\n");
    const stream = new OutputStream();
    const out: string[] = [];
    stream.begin(
      "T",
      (text) => out.push(text),
      () => undefined,
    );
    stream.push(bytes.subarray(0, 1));
    stream.push(bytes.subarray(1));
    assert.deepEqual(out, ["\u2713\n"]);
  });
  it("flushPartial holds back what may be the start of the token", () => {
    const stream = new OutputStream();
    const out: string[] = [];
    stream.begin(
      "TOKEN",
      (text) => out.push(text),
      () => undefined,
    );
    stream.push(Buffer.from("progress TO"));
    stream.flushPartial();
    assert.deepEqual(out, ["progress "]);
  });
});

describe("startedFirst", () => {
  function recorder(): { calls: string[]; sink: ExecutionSink } {
    const calls: string[] = [];
    return {
      calls,
      sink: {
        started: (n) => calls.push(`started ${n}`),
        stdout: (text) => calls.push(`stdout ${text}`),
        stderr: (text) => calls.push(`stderr ${text}`),
        result: (_data, main) => calls.push(`result ${main}`),
        error: (name) => calls.push(`error ${name}`),
      },
    };
  }
  it("holds output that arrives before the execution count", () => {
    const { calls, sink } = recorder();
    const ordered = startedFirst(sink);
    ordered.stdout("early");
    ordered.result({}, true);
    ordered.started(3);
    ordered.stderr("late");
    assert.deepEqual(calls, ["started 3", "stdout early", "result true", "stderr late"]);
  });
  it("release lets held output out without a count", () => {
    const { calls, sink } = recorder();
    const ordered = startedFirst(sink);
    ordered.error("E", "v", "");
    ordered.release();
    assert.deepEqual(calls, ["error E"]);
  });
});
