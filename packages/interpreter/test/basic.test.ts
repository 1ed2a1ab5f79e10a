import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startInterpreter, type TestInterpreter } from "./helpers/interpreter.js";

describe("runCode basics through the SDK", () => {
  let t: TestInterpreter;
  before(async () => {
    t = await startInterpreter();
  });
  after(async () => {
    await t?.close();
  });

  it("python: the last expression is the main result", async () => {
    const execution = await t.sandbox.runCode("x = 1; x");
    assert.equal(execution.text, "1");
    assert.equal(execution.error, undefined);
  });
});
