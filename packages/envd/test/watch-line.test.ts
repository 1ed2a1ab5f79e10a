import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventType } from "@cove/protocol/filesystem";
import { parseWatchLine } from "../src/services/filesystem/watch-line.js";

describe("cove-watch line parser", () => {
  const cases: Array<[string, ReturnType<typeof parseWatchLine>]> = [
    ["READY\t", { kind: "ready" }],
    ["OVERFLOW\t", { kind: "overflow" }],
    ["ERROR\tcannot watch 'x': Permission denied", { kind: "error", message: "cannot watch 'x': Permission denied" }],
    ["CREATE\ta.txt", { kind: "event", type: EventType.CREATE, name: "a.txt" }],
    ["WRITE\tsub/b", { kind: "event", type: EventType.WRITE, name: "sub/b" }],
    ["REMOVE\t.", { kind: "event", type: EventType.REMOVE, name: "." }],
    ["RENAME\told", { kind: "event", type: EventType.RENAME, name: "old" }],
    ["CHMOD\tf", { kind: "event", type: EventType.CHMOD, name: "f" }],
    ["CREATE\ttab\\there", { kind: "event", type: EventType.CREATE, name: "tab\there" }],
    ["CREATE\tline\\nbreak", { kind: "event", type: EventType.CREATE, name: "line\nbreak" }],
    ["CREATE\tback\\\\slash\\\\n", { kind: "event", type: EventType.CREATE, name: "back\\slash\\n" }],
    ["CREATE\ta\tb", { kind: "event", type: EventType.CREATE, name: "a\tb" }],
    ["BOGUS\tx", undefined],
    ["no tab at all", undefined],
  ];
  for (const [line, expected] of cases) {
    it(JSON.stringify(line), () => assert.deepEqual(parseWatchLine(line), expected));
  }
});
