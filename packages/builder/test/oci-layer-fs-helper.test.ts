// The helper is the second fence: even records the TypeScript writer would never send must
// not reach outside the layer directory.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BuilderError } from "../src/errors.js";
import { openLayerFs } from "../src/oci/layer-fs-helper.js";
import { buildLayerFsHelper } from "./helpers/layer-fs.js";

const work = mkdtempSync(join(tmpdir(), "cove-layer-fs-test-"));
let helper = "";
before(() => {
  helper = buildLayerFsHelper();
});
after(() => rmSync(work, { recursive: true, force: true }));

function records(list: (string | number)[][], data = ""): string {
  return list.map((fields) => fields.map((f) => `${f}\0`).join("")).join("") + data;
}

describe("cove-layer-fs", () => {
  const hostile: [string, (outside: string) => string][] = [
    ["a file above the root", () => records([["F", "../evil", "644", 0, 0, 0, 0, 1]], "x")],
    ["a file at an absolute path", (o) => records([["F", `${o}/evil`, "644", 0, 0, 0, 0, 1]], "x")],
    ["a file through a symlink", () => records([["F", "link/evil", "644", 0, 0, 0, 0, 1]], "x")],
    ["a directory through a symlink", () => records([["D", "link/sub", "755", 0, 0]])],
    ["a hard link to a file outside", () => records([["H", "h", "../outside/target"]])],
    ["a hard link through a symlink", () => records([["H", "h", "link/target"]])],
    ["a removal of the parent", () => records([["R", ".."]])],
    ["a removal through a symlink", () => records([["R", "link/target"]])],
    ["a whiteout through a symlink", () => records([["W", "link/target"]])],
    ["an opaque mark through a symlink", () => records([["O", "link"]])],
    ["an xattr through a symlink", () => records([["X", "link/target", "user.x", "41"]])],
    ["an mtime through a symlink", () => records([["T", "link/target", 0, 0]])],
  ];
  for (const [name, input] of hostile) {
    it(`refuses ${name}`, () => {
      const base = mkdtempSync(join(work, "case-"));
      const outside = join(base, "outside");
      mkdirSync(outside);
      writeFileSync(join(outside, "target"), "original");
      const root = join(base, "layer");
      mkdirSync(root);
      symlinkSync(outside, join(root, "link"));
      const result = spawnSync(helper, [root], { input: input(outside) });
      assert.notEqual(result.status, 0, "the helper accepted it");
      assert.match(result.stderr.toString(), /^cove-layer-fs: /);
      assert.deepEqual(readdirSync(outside), ["target"]);
      assert.equal(readFileSync(join(outside, "target"), "utf8"), "original");
      assert.equal(lstatSync(join(outside, "target")).nlink, 1);
      assert.deepEqual(readdirSync(base).sort(), ["layer", "outside"]);
    });
  }

  it("replaces a symlink at the last component instead of following it", () => {
    const base = mkdtempSync(join(work, "case-"));
    writeFileSync(join(base, "target"), "original");
    const root = join(base, "layer");
    mkdirSync(root);
    symlinkSync(join(base, "target"), join(root, "f"));
    const result = spawnSync(helper, [root], { input: records([["F", "f", "644", 0, 0, 0, 0, 3]], "new") });
    assert.equal(result.status, 0, result.stderr.toString());
    assert.equal(readFileSync(join(base, "target"), "utf8"), "original");
    assert.equal(readFileSync(join(root, "f"), "utf8"), "new");
  });

  it("reports a refusal through openLayerFs as io_failed with the helper's words", async () => {
    const root = mkdtempSync(join(work, "root-"));
    const fs = openLayerFs(helper, root);
    await fs.record(["R", ".."]);
    await assert.rejects(fs.close(), (err: unknown) => err instanceof BuilderError && err.code === "io_failed" && /refusing path \.\./.test(err.message));
  });

  it("reports a missing helper as io_failed", async () => {
    const fs = openLayerFs(join(work, "no-such-helper"), work);
    await assert.rejects(
      (async () => {
        await fs.record(["D", "a", "755", 0, 0]);
        await fs.close();
      })(),
      (err: unknown) => err instanceof BuilderError && err.code === "io_failed" && /npm run build/.test(err.message),
    );
    assert.equal(existsSync(join(work, "a")), false);
  });
});
