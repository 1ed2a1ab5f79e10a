import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { endStatus } from "../src/services/process/end-status.js";

describe("endStatus mirrors Go's process state text", () => {
  const cases: Array<[string, Parameters<typeof endStatus>, ReturnType<typeof endStatus>]> = [
    ["exit 0", [0, null], { exitCode: 0, exited: true, status: "exit status 0" }],
    ["exit 2", [2, null], { exitCode: 2, exited: true, status: "exit status 2", error: "exit status 2" }],
    ["SIGKILL by name", [null, "SIGKILL"], { exitCode: -1, exited: false, status: "signal: killed", error: "signal: killed" }],
    ["SIGTERM by name", [null, "SIGTERM"], { exitCode: -1, exited: false, status: "signal: terminated", error: "signal: terminated" }],
    ["SIGINT by number (node-pty)", [0, 2], { exitCode: -1, exited: false, status: "signal: interrupt", error: "signal: interrupt" }],
    ["signal 0 means none (node-pty)", [5, 0], { exitCode: 5, exited: true, status: "exit status 5", error: "exit status 5" }],
  ];
  for (const [name, args, expected] of cases) {
    it(name, () => assert.deepEqual(endStatus(...args), expected));
  }
});
