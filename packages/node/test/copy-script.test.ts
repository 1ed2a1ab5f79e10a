// The COPY step's placement script, run by sh on the host in a temp dir (in a build it runs as
// root inside the build sandbox): Docker's rules for directories, files, globs and trailing
// slashes, the mode, and a clear failure when nothing matches.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { copyScript } from "../src/builds/copy-script.js";

describe("COPY placement script", () => {
  let dir = "";
  let tar = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cove-copy-"));
    const ctx = join(dir, "ctx");
    mkdirSync(join(ctx, "app", "lib"), { recursive: true });
    writeFileSync(join(ctx, "app", "main.py"), "main\n");
    writeFileSync(join(ctx, "app", "lib", "util.py"), "util\n");
    writeFileSync(join(ctx, "readme.md"), "readme\n");
    writeFileSync(join(ctx, "it's $(odd).txt"), "odd\n");
    tar = join(dir, "files.tar.gz");
    execFileSync("tar", ["-czf", tar, "-C", ctx, "app", "readme.md", "it's $(odd).txt"]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const place = (src: string, dest: string, mode = "") =>
    spawnSync("sh", ["-c", copyScript({ tarPath: tar, gzip: true, src, dest: join(dir, dest), user: "root", mode })], { encoding: "utf8" });

  it("a directory's contents go into the destination, which keeps its own mode", () => {
    mkdirSync(join(dir, "out1"), { mode: 0o751 });
    assert.equal(place("app", "out1", "0600").status, 0);
    assert.equal(statSync(join(dir, "out1")).mode & 0o777, 0o751);
    assert.equal(statSync(join(dir, "out1", "lib")).mode & 0o777, 0o755, "directories keep theirs: the mode is for files");
    assert.equal(statSync(join(dir, "out1", "main.py")).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, "out1")).sort(), ["lib", "main.py"]);
    assert.equal(readFileSync(join(dir, "out1", "lib", "util.py"), "utf8"), "util\n");
  });

  it("a file becomes the destination, or goes into it with a trailing slash", () => {
    assert.equal(place("readme.md", "out2/renamed.md").status, 0);
    assert.equal(readFileSync(join(dir, "out2", "renamed.md"), "utf8"), "readme\n");
    assert.equal(place("./readme.md", "out3/").status, 0);
    assert.equal(readFileSync(join(dir, "out3", "readme.md"), "utf8"), "readme\n");
  });

  it("globs expand (never as shell code); several matches go into the destination dir, a single one becomes it", () => {
    assert.equal(place("*.*", "out4").status, 0);
    assert.deepEqual(readdirSync(join(dir, "out4")).sort(), ["it's $(odd).txt", "readme.md"]);
    assert.equal(place("it's $(odd).txt", "out5/").status, 0);
    assert.deepEqual(readdirSync(join(dir, "out5")), ["it's $(odd).txt"]);
    assert.equal(place("app/*.py", "out6").status, 0);
    assert.equal(readFileSync(join(dir, "out6"), "utf8"), "main\n");
  });

  it("applies the mode to what it copies", () => {
    assert.equal(place("readme.md", "out7/r.md", "0640").status, 0);
    assert.equal(statSync(join(dir, "out7", "r.md")).mode & 0o777, 0o640);
  });

  it("fails clearly when nothing matches", () => {
    const res = place("nope/*.txt", "out8");
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /COPY nope\/\*\.txt: no such file/);
  });
});
