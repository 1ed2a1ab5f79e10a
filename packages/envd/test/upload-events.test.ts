import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventType } from "@cove/protocol/filesystem";
import { createUploadEventFilter } from "../src/services/filesystem/upload-events.js";
import { parseUploadTempName, uploadTempName } from "../src/upload-temp.js";

const { CREATE, WRITE, CHMOD, RENAME, REMOVE } = EventType;
type Ev = [EventType, string];

function run(events: Ev[]): Ev[] {
  const filter = createUploadEventFilter();
  return events.flatMap(([type, name]) => filter({ type, name }).map((e): Ev => [e.type, e.name]));
}

describe("upload temp names", () => {
  it("round-trip the target and whether it replaces a file, for odd names too", () => {
    for (const target of ["a.txt", ".hidden", "x.cove-upload-n0123456789ab", "tab\tnew\nline"]) {
      for (const replaces of [true, false]) {
        assert.deepEqual(parseUploadTempName(uploadTempName(target, replaces)), { target, replaces });
      }
    }
  });

  it("do not match ordinary names", () => {
    for (const name of ["a.txt", ".a.txt.cove-upload-", ".a.cove-upload-x0123456789ab", ".a.cove-upload-n0123", "a.cove-upload-n0123456789ab"]) {
      assert.equal(parseUploadTempName(name), undefined, name);
    }
  });
});

describe("the watch filter for uploads", () => {
  const fresh = uploadTempName("f.txt", false);
  const replacing = uploadTempName("f.txt", true);

  const cases: Array<{ name: string; in: Ev[]; out: Ev[] }> = [
    {
      name: "an upload creating a file reads as CREATE then WRITE of the file",
      in: [
        [CREATE, fresh],
        [WRITE, fresh],
        [CHMOD, fresh],
        [RENAME, fresh],
        [CREATE, "f.txt"],
      ],
      out: [
        [CREATE, "f.txt"],
        [WRITE, "f.txt"],
      ],
    },
    {
      name: "an upload replacing a file reads as WRITE only",
      in: [
        [CREATE, replacing],
        [WRITE, replacing],
        [RENAME, replacing],
        [CREATE, "f.txt"],
      ],
      out: [[WRITE, "f.txt"]],
    },
    {
      name: "names below a recursive watch keep their directory",
      in: [
        [CREATE, `sub/${fresh}`],
        [RENAME, `sub/${fresh}`],
        [CREATE, "sub/f.txt"],
      ],
      out: [
        [CREATE, "sub/f.txt"],
        [WRITE, "sub/f.txt"],
      ],
    },
    {
      name: "a failed upload's temp file vanishes without a trace",
      in: [
        [CREATE, fresh],
        [WRITE, fresh],
        [REMOVE, fresh],
      ],
      out: [],
    },
    {
      name: "ordinary creates, renames and writes pass unchanged, also of the same name later",
      in: [
        [CREATE, "f.txt"],
        [RENAME, "f.txt"],
        [CREATE, "g.txt"],
        [RENAME, fresh],
        [CREATE, "f.txt"],
        [CREATE, "f.txt"],
      ],
      out: [
        [CREATE, "f.txt"],
        [RENAME, "f.txt"],
        [CREATE, "g.txt"],
        [CREATE, "f.txt"],
        [WRITE, "f.txt"],
        [CREATE, "f.txt"],
      ],
    },
    {
      name: "a CREATE in another directory does not take the rename",
      in: [
        [RENAME, fresh],
        [CREATE, "sub/f.txt"],
        [CREATE, "f.txt"],
      ],
      out: [
        [CREATE, "sub/f.txt"],
        [CREATE, "f.txt"],
        [WRITE, "f.txt"],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(run(c.in), c.out));
  }

  it("forgets the oldest unmatched renames beyond its cap", () => {
    const filter = createUploadEventFilter();
    for (let i = 0; i < 2000; i++) filter({ type: RENAME, name: uploadTempName(`f${i}`, false) });
    assert.deepEqual(filter({ type: CREATE, name: "f0" }), [{ type: CREATE, name: "f0" }]);
    assert.equal(filter({ type: CREATE, name: "f1999" }).length, 2);
  });
});
