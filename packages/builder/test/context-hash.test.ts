import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Template } from "e2b";
import { computeFilesHash, matchContextFiles, prepareCopyStep, readDockerignore } from "../src/index.js";
import { makeContext } from "./helpers/context-tree.js";

/** The filesHash the installed e2b SDK puts on this COPY step (it reads the context's .dockerignore too). */
async function sdkHash(contextDir: string, src: string, dest: string): Promise<string> {
  const template = Template({ fileContextPath: contextDir }).fromImage("ubuntu:22.04").copy(src, dest);
  const json = JSON.parse(await Template.toJSON(template, true)) as { steps: Array<{ filesHash?: string }> };
  const hash = json.steps[0]?.filesHash;
  assert.ok(hash !== undefined, "the SDK put no filesHash on the step");
  return hash;
}

async function coveHash(contextDir: string, src: string, dest: string): Promise<string> {
  const prepared = await prepareCopyStep(contextDir, { type: "COPY", args: [src, dest, "", ""], force: false }, await readDockerignore(contextDir));
  return prepared.filesHash;
}

describe("computeFilesHash equals the e2b SDK's filesHash", () => {
  let ctx: { dir: string; remove: () => Promise<void> };
  let outside: { dir: string; remove: () => Promise<void> };
  before(async () => {
    outside = await makeContext({ "target.txt": "outside" });
    ctx = await makeContext({
      "a.txt": "alpha\n",
      "b.txt": "",
      ".hidden": "dot",
      "a-b": "dash sorts before slash",
      "a/b": "slash",
      "café.txt": "non-ASCII name",
      "run.sh": { content: "#!/bin/sh\necho hi\n", mode: 0o755 },
      "key.pem": { content: "private", mode: 0o600 },
      "app/index.js": "console.log(1)",
      "app/lib/deep/nested/x.js": "x",
      "app/empty": { dir: true },
      "app/self": { link: "index.js" },
      private: { dir: true, mode: 0o700 },
      "private/data": "d",
      "big.bin": randomBytes(3 * 1024 * 1024 + 17),
      "link-in": { link: "a.txt" },
      "link-dir": { link: "app" },
      "link-out": { link: `${outside.dir}/target.txt` },
      "link-dangling": { link: "does/not/exist" },
    });
  });
  after(async () => {
    await ctx?.remove();
    await outside?.remove();
  });

  const cases: Array<[string, string, string]> = [
    ["one file", "a.txt", "/app/a.txt"],
    ["an empty file", "b.txt", "/b.txt"],
    ["a directory with nested files, an empty directory and a symlink", "app", "/srv/app"],
    ["a directory given with a trailing slash", "app/", "/srv/app/"],
    ["a directory given with ./", "./app", "/srv/app"],
    ["the whole context", ".", "/work"],
    ["a glob in one segment", "*.txt", "/txt/"],
    ["a glob under a directory", "app/*", "/srv/"],
    ["a recursive glob", "**/*.js", "/js/"],
    ["an executable and a private file", "run.sh", "/usr/local/bin/run.sh"],
    ["a mode 0600 file", "key.pem", "/root/key.pem"],
    ["a mode 0700 directory", "private", "/private"],
    ["a symlink inside the context", "link-in", "/l"],
    ["a symlink to a directory (not followed)", "link-dir", "/l"],
    ["a symlink pointing outside (not followed)", "link-out", "/l"],
    ["a dangling symlink", "link-dangling", "/l"],
    ["a 3 MiB file", "big.bin", "/big.bin"],
    ["names where - and / sort differently", "a*", "/a/"],
    ["a non-ASCII name", "caf*.txt", "/c/"],
    ["a dotfile", ".hidden", "/h"],
    ["a relative destination", "a.txt", "rel/dest"],
  ];
  for (const [name, src, dest] of cases) {
    it(`${name}: COPY ${src} ${dest}`, async () => {
      assert.equal(await coveHash(ctx.dir, src, dest), await sdkHash(ctx.dir, src, dest));
    });
  }

  it("changes with the destination, a file's bytes and a file's mode", async () => {
    const before = await coveHash(ctx.dir, "app", "/x");
    assert.notEqual(await coveHash(ctx.dir, "app", "/y"), before);
    const other = await makeContext({ "f.txt": "one" });
    try {
      const one = await coveHash(other.dir, "f.txt", "/f");
      const changed = await makeContext({ "f.txt": "two" });
      const executable = await makeContext({ "f.txt": { content: "one", mode: 0o755 } });
      try {
        assert.notEqual(await coveHash(changed.dir, "f.txt", "/f"), one);
        assert.notEqual(await coveHash(executable.dir, "f.txt", "/f"), one);
      } finally {
        await changed.remove();
        await executable.remove();
      }
    } finally {
      await other.remove();
    }
  });

  it("is the SDK's with a .dockerignore whose patterns both read the same way", async () => {
    const ignored = await makeContext({
      ".dockerignore": "# build output\n*.log\n**/*.tmp\nsecret.txt\nsrc/generated.js\n",
      "app.log": "log",
      "keep.txt": "keep",
      "secret.txt": "s",
      "src/main.js": "m",
      "src/generated.js": "g",
      "src/deep/cache.tmp": "t",
      "src/logs/x.log": "nested logs are not matched by *.log",
    });
    try {
      for (const src of [".", "src", "*.txt"]) assert.equal(await coveHash(ignored.dir, src, "/dst"), await sdkHash(ignored.dir, src, "/dst"), src);
      const paths = (await matchContextFiles(ignored.dir, ".", await readDockerignore(ignored.dir))).map((e) => e.path);
      assert.deepEqual(paths, ["", ".dockerignore", "keep.txt", "src", "src/deep", "src/logs", "src/logs/x.log", "src/main.js"]);
    } finally {
      await ignored.remove();
    }
  });

  it("differs from the SDK's where it reads .dockerignore differently (decision 0019), and only in the files chosen", async () => {
    const divergent = await makeContext({ ".dockerignore": "node_modules\n", "a.js": "a", "node_modules/dep/x.js": "x" });
    try {
      const ours = await matchContextFiles(divergent.dir, ".", await readDockerignore(divergent.dir));
      assert.deepEqual(
        ours.map((e) => e.path),
        ["", ".dockerignore", "a.js"],
      );
      // glob's ignore drops only the node_modules entry itself and keeps what is below it.
      const sdkChoice = (await matchContextFiles(divergent.dir, ".", [])).filter((e) => e.path !== "node_modules");
      const sdk = await sdkHash(divergent.dir, ".", "/x");
      assert.equal(await computeFilesHash(".", "/x", sdkChoice), sdk);
      assert.notEqual(await coveHash(divergent.dir, ".", "/x"), sdk);
    } finally {
      await divergent.remove();
    }
  });

  it("is computed over exactly the entries it is given", async () => {
    const entries = await matchContextFiles(ctx.dir, "app", []);
    assert.equal(await computeFilesHash("app", "/x", entries), await sdkHash(ctx.dir, "app", "/x"));
    assert.notEqual(await computeFilesHash("app", "/x", entries.slice(1)), await sdkHash(ctx.dir, "app", "/x"));
  });
});
