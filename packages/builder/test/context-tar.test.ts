import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { appendFile, lstat, mkdtemp, readFile, readlink, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pipeline } from "node:stream/promises";
import { BuilderError, computeFilesHash, createContextTar, matchContextFiles, prepareCopyStep } from "../src/index.js";
import { makeContext } from "./helpers/context-tree.js";

const longDir = `${"d".repeat(60)}/${"e".repeat(60)}`;
const longName = `${longDir}/${"f".repeat(90)}.txt`;
const longTarget = `/${"t".repeat(150)}`;

describe("createContextTar, read back with the system tar", () => {
  let ctx: { dir: string; remove: () => Promise<void> };
  let work: string;
  const big = randomBytes(5 * 1024 * 1024 + 3);
  before(async () => {
    ctx = await makeContext({
      "a.txt": "alpha\n",
      "empty.txt": "",
      "run.sh": { content: "#!/bin/sh\n", mode: 0o755 },
      secret: { content: "s", mode: 0o600 },
      "app/index.js": "console.log(1)",
      "app/empty": { dir: true },
      "app/link": { link: "index.js" },
      locked: { dir: true, mode: 0o750 },
      outside: { link: "/etc/passwd" },
      "long-link": { link: longTarget },
      "naïve café.txt": "unicode",
      [longName]: "long",
      "big.bin": big,
    });
    work = await mkdtemp(join(tmpdir(), "cove-tar-"));
  });
  after(async () => {
    await ctx?.remove();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function archive(src: string, gzip: boolean): Promise<string> {
    const prepared = await prepareCopyStep(ctx.dir, { type: "COPY", args: [src, "/dst", "", ""], force: false }, []);
    const file = join(work, `${src.replaceAll("/", "_")}-${gzip}.tar${gzip ? ".gz" : ""}`);
    await pipeline(prepared.openTar({ gzip }), createWriteStream(file));
    return file;
  }

  it("lists the entries as the SDK lays them out: ./ for the context, directories with a slash, relative paths", async () => {
    const file = await archive(".", true);
    const names = execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).trimEnd().split("\n");
    assert.deepEqual(names, [
      "./",
      "a.txt",
      "app/",
      "app/empty/",
      "app/index.js",
      "app/link",
      "big.bin",
      `${"d".repeat(60)}/`,
      `${longDir}/`,
      longName,
      "empty.txt",
      "locked/",
      "long-link",
      "naïve café.txt",
      "outside",
      "run.sh",
      "secret",
    ]);
  });

  it("extracts to the same bytes, modes and link targets", async () => {
    const file = await archive(".", true);
    const out = join(work, "extract");
    execFileSync("mkdir", ["-p", out]);
    execFileSync("tar", ["-xzf", file, "-C", out, "--no-same-owner"]);
    assert.equal(await readFile(join(out, "a.txt"), "utf8"), "alpha\n");
    assert.equal(await readFile(join(out, "empty.txt"), "utf8"), "");
    assert.ok((await readFile(join(out, "big.bin"))).equals(big));
    assert.equal(await readFile(join(out, longName), "utf8"), "long");
    assert.equal(await readFile(join(out, "naïve café.txt"), "utf8"), "unicode");
    assert.equal(await readlink(join(out, "app/link")), "index.js");
    assert.equal(await readlink(join(out, "outside")), "/etc/passwd");
    assert.equal(await readlink(join(out, "long-link")), longTarget);
    const mode = async (path: string) => (await lstat(join(out, path))).mode & 0o7777;
    assert.equal(await mode("run.sh"), 0o755);
    assert.equal(await mode("secret"), 0o600);
    assert.equal(await mode("locked"), 0o750);
    assert.ok((await lstat(join(out, "app/empty"))).isDirectory());
  });

  it("verbose listing shows types, modes and sizes", async () => {
    const file = await archive("app", false);
    const lines = execFileSync("tar", ["-tvf", file], { encoding: "utf8" }).trimEnd().split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? "", /^drwx.* app\/$/);
    assert.match(lines[1] ?? "", /^drwx.* app\/empty\/$/);
    assert.match(lines[2] ?? "", /^-rw.* 14 .* app\/index\.js$/);
    assert.match(lines[3] ?? "", /^lrwxrwxrwx .* app\/link -> index\.js$/);
  });

  it("is gzip by default and plain with gzip: false", async () => {
    const gz = await readFile(await archive("a.txt", true));
    assert.deepEqual([...gz.subarray(0, 2)], [0x1f, 0x8b]);
    const plain = await readFile(await archive("a.txt", false));
    assert.equal(plain.subarray(0, 5).toString(), "a.txt");
    assert.equal(plain.length % 512, 0);
    assert.equal(plain.subarray(257, 262).toString(), "ustar");
  });

  it("does not follow a file that became a symlink after it was listed", async () => {
    const scratch = await makeContext({ "f.txt": "inside" });
    try {
      const entries = await matchContextFiles(scratch.dir, "f.txt", []);
      await rm(join(scratch.dir, "f.txt"));
      await symlink("/etc/passwd", join(scratch.dir, "f.txt"));
      await assert.rejects(pipeline(createContextTar(entries, { gzip: false }), createWriteStream(join(work, "swapped.tar"))), {
        code: "io_failed",
        message: "cannot read f.txt in the build context",
      });
      await assert.rejects(computeFilesHash("f.txt", "/f", entries), { code: "io_failed", message: "cannot read f.txt in the build context" });
    } finally {
      await scratch.remove();
    }
  });

  it("fails the stream with io_failed when a file changes size while it is archived", async () => {
    const scratch = await makeContext({ "grows.txt": "12345" });
    try {
      const entries = await matchContextFiles(scratch.dir, "grows.txt", []);
      await appendFile(join(scratch.dir, "grows.txt"), "6789");
      await assert.rejects(pipeline(createContextTar(entries, { gzip: false }), createWriteStream(join(work, "grows.tar"))), (error: unknown) => {
        assert.ok(error instanceof BuilderError);
        assert.equal(error.code, "io_failed");
        assert.equal(error.message, "grows.txt in the build context changed size while it was archived");
        return true;
      });
    } finally {
      await scratch.remove();
    }
  });
});
