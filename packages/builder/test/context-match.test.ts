import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BuilderError, isIgnored, matchContextFiles, parseDockerignore, readDockerignore } from "../src/index.js";
import { makeContext } from "./helpers/context-tree.js";

describe("parseDockerignore and isIgnored (Docker's semantics)", () => {
  const cases: Array<[string, string, string[], string[]]> = [
    ["a name excludes the directory and all below it", "node_modules", ["node_modules", "node_modules/x/y.js"], ["src/node_modules", "node_modules2"]],
    ["* stays in one segment, anchored at the root", "*.log", ["a.log", ".hidden.log"], ["logs/a.log", "a.log.txt"]],
    ["**/ matches any depth, none included", "**/*.tmp", ["a.tmp", "x/y/z.tmp"], ["a.tmpx"]],
    ["** in the middle", "docs/**/draft.md", ["docs/draft.md", "docs/a/b/draft.md"], ["draft.md", "x/docs/draft.md"]],
    ["dir/** excludes the contents, not the directory", "build/**", ["build/out", "build/a/b"], ["build"]],
    ["? and classes", "file?.[ch]", ["file1.c", "fileX.h"], ["file10.c", "file1.o"]],
    ["negated class", "v[!0-9]", ["vx"], ["v1"]],
    ["leading / and ./ are the root", "/secret\n./keys/*.pem", ["secret", "keys/a.pem"], ["x/secret"]],
    ["comments and blank lines", "# *.md\n\n  \n", [], ["README.md"]],
    ["an exception takes a file back", "*.md\n!README.md", ["CHANGES.md"], ["README.md"]],
    ["the last matching line wins", "*.md\n!README*.md\nREADME-secret.md", ["a.md", "README-secret.md"], ["README.md", "README-x.md"]],
    ["an exception inside an excluded directory", "docs\n!docs/public", ["docs", "docs/private/a"], ["docs/public", "docs/public/a.html"]],
    ["escaped glob characters are literal", "\\*.txt", ["*.txt"], ["a.txt"]],
    ["the context root is never excluded", "*\n..", ["a", "b/c"], [""]],
  ];
  for (const [name, text, ignored, kept] of cases) {
    it(name, () => {
      const rules = parseDockerignore(text);
      for (const path of ignored) assert.equal(isIgnored(rules, path), true, `${path} should be ignored`);
      for (const path of kept) assert.equal(isIgnored(rules, path), false, `${path} should be kept`);
    });
  }
});

describe("matchContextFiles", () => {
  let ctx: { dir: string; remove: () => Promise<void> };
  let outside: { dir: string; remove: () => Promise<void> };
  before(async () => {
    outside = await makeContext({ "secret.txt": "secret" });
    ctx = await makeContext({
      "a.txt": "a",
      "b.txt": "b",
      ".env": "dot",
      "a-b": "dash",
      "app/main.js": "main",
      "app/lib/util.js": "util",
      "app/lib/util.test.js": "test",
      "app/node_modules/dep/index.js": "dep",
      "docs/public/index.html": "pub",
      "docs/private/notes.md": "priv",
      empty: { dir: true },
      "out-link": { link: outside.dir },
      "out-file": { link: `${outside.dir}/secret.txt` },
      "in-link": { link: "app/main.js" },
    });
  });
  after(async () => {
    await ctx?.remove();
    await outside?.remove();
  });

  const paths = async (src: string, ignore = "") => (await matchContextFiles(ctx.dir, src, parseDockerignore(ignore))).map((entry) => entry.path);

  it("a file", async () => assert.deepEqual(await paths("a.txt"), ["a.txt"]));
  it("a directory with everything below it, ordered by path as the SDK orders them", async () => {
    assert.deepEqual(await paths("app"), [
      "app",
      "app/lib",
      "app/lib/util.js",
      "app/lib/util.test.js",
      "app/main.js",
      "app/node_modules",
      "app/node_modules/dep",
      "app/node_modules/dep/index.js",
    ]);
    assert.deepEqual(await paths("./app/"), await paths("app"));
  });
  it("the whole context, dotfiles and symlinks included, the root as the empty path", async () => {
    const all = await paths(".");
    assert.equal(all[0], "");
    assert.ok(all.includes(".env") && all.includes("in-link") && all.includes("out-link") && all.includes("empty"));
    assert.ok(all.indexOf("a-b") < all.indexOf("a.txt") && all.indexOf("a.txt") < all.indexOf("app"), "byte order of full paths");
    assert.ok(!all.includes("out-link/secret.txt"), "a symlink is not followed");
  });
  it("globs in one segment and across segments", async () => {
    assert.deepEqual(await paths("*.txt"), ["a.txt", "b.txt"]);
    assert.deepEqual(await paths("app/lib/*.js"), ["app/lib/util.js", "app/lib/util.test.js"]);
    assert.deepEqual(await paths("app/*"), [
      "app/lib",
      "app/lib/util.js",
      "app/lib/util.test.js",
      "app/main.js",
      "app/node_modules",
      "app/node_modules/dep",
      "app/node_modules/dep/index.js",
    ]);
    assert.deepEqual(await paths("**/util.js"), ["app/lib/util.js"]);
    assert.deepEqual(await paths("?.txt"), ["a.txt", "b.txt"]);
  });
  it(".dockerignore applies to the sources and below them", async () => {
    assert.deepEqual(await paths("app", "node_modules\n**/*.test.js"), [
      "app",
      "app/lib",
      "app/lib/util.js",
      "app/main.js",
      "app/node_modules",
      "app/node_modules/dep",
      "app/node_modules/dep/index.js",
    ]);
    assert.deepEqual(await paths("app", "app/node_modules\n**/*.test.js"), ["app", "app/lib", "app/lib/util.js", "app/main.js"]);
    assert.deepEqual(await paths("docs", "docs\n!docs/public"), ["docs/public", "docs/public/index.html"]);
    assert.deepEqual(await paths("*.txt", "b.txt"), ["a.txt"]);
  });
  it("symlinks are entries, whether they point inside or outside", async () => {
    const entries = await matchContextFiles(ctx.dir, "out-*", []);
    assert.deepEqual(
      entries.map((e) => [e.path, e.stats.isSymbolicLink()]),
      [
        ["out-file", true],
        ["out-link", true],
      ],
    );
  });

  const refused = async (src: string, code: BuilderError["code"], message: string, ignore = "") => {
    await assert.rejects(matchContextFiles(ctx.dir, src, parseDockerignore(ignore)), (error: unknown) => {
      assert.ok(error instanceof BuilderError);
      assert.equal(error.code, code);
      assert.equal(error.message, message);
      return true;
    });
  };
  it("refuses sources outside the context", async () => {
    await refused("../x", "invalid_spec", "COPY source ../x is outside the build context");
    await refused("app/../../x", "invalid_spec", "COPY source app/../../x is outside the build context");
    await refused("/etc/passwd", "invalid_spec", "COPY source /etc/passwd is outside the build context");
  });
  it("does not reach through a symlinked directory", async () => {
    await refused("out-link/secret.txt", "io_failed", "COPY source out-link/secret.txt matches no files in the build context");
    await refused("out-link/*", "io_failed", "COPY source out-link/* matches no files in the build context");
  });
  it("refuses a source that matches nothing, or only ignored files", async () => {
    await refused("missing.txt", "io_failed", "COPY source missing.txt matches no files in the build context");
    await refused("*.nope", "io_failed", "COPY source *.nope matches no files in the build context");
    await refused("a.txt", "io_failed", "COPY source a.txt matches no files in the build context", "*.txt");
  });
  it("refuses a context that is not a directory", async () => {
    await assert.rejects(matchContextFiles(`${ctx.dir}/a.txt`, ".", []), {
      code: "io_failed",
      message: `the build context ${ctx.dir}/a.txt is not a directory`,
    });
    await assert.rejects(matchContextFiles(`${ctx.dir}/nope`, "x", []), { code: "io_failed", message: `the build context ${ctx.dir}/nope is not a directory` });
  });
  it("reads .dockerignore from the context, and none when there is none", async () => {
    assert.deepEqual(await readDockerignore(ctx.dir), []);
    const withFile = await makeContext({ ".dockerignore": "*.log\n!keep.log\n", "a.log": "", "keep.log": "" });
    try {
      const rules = await readDockerignore(withFile.dir);
      assert.deepEqual(
        rules.map((r) => [r.pattern, r.exception]),
        [
          ["*.log", false],
          ["!keep.log", true],
        ],
      );
      assert.deepEqual(
        (await matchContextFiles(withFile.dir, ".", rules)).map((e) => e.path),
        ["", ".dockerignore", "keep.log"],
      );
    } finally {
      await withFile.remove();
    }
  });
});
