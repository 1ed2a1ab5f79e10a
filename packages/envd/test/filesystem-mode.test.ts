import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileModeString, permissionBits } from "../src/services/filesystem/file-mode.js";

// Expected strings are what Go's os.Lstat(..).Mode().String() prints for these st_mode values.
describe("Go FileMode strings", () => {
  const cases: Array<[number, string]> = [
    [0o100644, "-rw-r--r--"],
    [0o100000, "----------"],
    [0o040755, "drwxr-xr-x"],
    [0o120777, "Lrwxrwxrwx"],
    [0o041777, "dtrwxrwxrwx"],
    [0o104755, "urwxr-xr-x"],
    [0o102755, "grwxr-xr-x"],
    [0o020666, "Dcrw-rw-rw-"],
    [0o060660, "Drw-rw----"],
    [0o010644, "prw-r--r--"],
    [0o140755, "Srwxr-xr-x"],
  ];
  for (const [mode, expected] of cases) {
    it(`0o${mode.toString(8)} → ${expected}`, () => assert.equal(fileModeString(mode), expected));
  }
  it("mode is permission bits only", () => {
    assert.equal(permissionBits(0o100644), 420);
    assert.equal(permissionBits(0o041777), 0o777);
  });
});
