import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { AuthenticationError, FileNotFoundError, InvalidArgumentError } from "e2b";
import { connectSdk, ensureTestUser, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

describe("envd /files through the SDK", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let dir: string;
  before(async () => {
    ensureTestUser();
    dir = await mkdtemp(join(tmpdir(), "cove-files-"));
    envd = await startEnvd();
    sdk = await connectSdk(envd);
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("writes and reads text, returning the written entry", async () => {
    const path = join(dir, "hello.txt");
    const info = await sdk.sandbox.files.write(path, "héllo wörld\n");
    assert.deepEqual({ path: info.path, name: info.name, type: info.type }, { path, name: "hello.txt", type: "file" });
    assert.equal(await readFile(path, "utf8"), "héllo wörld\n");
    assert.equal(await sdk.sandbox.files.read(path), "héllo wörld\n");
  });

  it("round-trips every byte value as Uint8Array, ArrayBuffer and Blob", async () => {
    const bytes = new Uint8Array(Array.from({ length: 512 }, (_, i) => i % 256));
    const path = join(dir, "bytes.bin");
    // Plain-JS callers pass Uint8Array (the SDK turns it into a Blob); its types only list ArrayBuffer.
    await sdk.sandbox.files.write(path, bytes as unknown as ArrayBuffer);
    assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
    assert.deepEqual(await sdk.sandbox.files.read(path, { format: "bytes" }), bytes);

    const bufferPath = join(dir, "buffer.bin");
    await sdk.sandbox.files.write(bufferPath, bytes.buffer);
    assert.deepEqual(new Uint8Array(await readFile(bufferPath)), bytes);

    const blobPath = join(dir, "blob.bin");
    await sdk.sandbox.files.write(blobPath, new Blob([bytes]));
    const blob = await sdk.sandbox.files.read(blobPath, { format: "blob" });
    assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), bytes);
  });

  it("reads an empty file as empty text and bytes", async () => {
    const path = join(dir, "empty.txt");
    await sdk.sandbox.files.write(path, "");
    assert.equal((await stat(path)).size, 0);
    assert.equal(await sdk.sandbox.files.read(path), "");
    assert.equal((await sdk.sandbox.files.read(path, { format: "bytes" })).length, 0);
  });

  it("streams in both directions", async () => {
    const chunks = Array.from({ length: 8 }, () => randomBytes(64 * 1024));
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const path = join(dir, "streamed.bin");
    await sdk.sandbox.files.write(path, source);
    const expected = Buffer.concat(chunks);
    assert.deepEqual(await readFile(path), expected);

    const stream = await sdk.sandbox.files.read(path, { format: "stream" });
    const received: Uint8Array[] = [];
    for await (const chunk of stream) received.push(chunk);
    assert.deepEqual(Buffer.concat(received), expected);
  });

  it("writes several files in one call, creating parent directories", async () => {
    const files = [
      { path: join(dir, "multi/a.txt"), data: "A" },
      { path: join(dir, "multi/deep/b.txt"), data: "B" },
      { path: join(dir, "multi/c.bin"), data: new Uint8Array([0, 1, 2]).buffer },
    ];
    const result = await sdk.sandbox.files.write(files);
    assert.deepEqual(
      result.map((entry) => entry.path),
      files.map((file) => file.path),
    );
    assert.equal(await readFile(files[0]!.path, "utf8"), "A");
    assert.equal(await readFile(files[1]!.path, "utf8"), "B");
    assert.deepEqual(new Uint8Array(await readFile(files[2]!.path)), new Uint8Array([0, 1, 2]));
  });

  it("accepts gzip uploads and serves gzip when the SDK asks for it", async () => {
    const text = "compress me ".repeat(10_000);
    const path = join(dir, "gz.txt");
    await sdk.sandbox.files.write(path, text, { gzip: true });
    assert.equal(await readFile(path, "utf8"), text);
    assert.equal(await sdk.sandbox.files.read(path, { gzip: true }), text);

    // The wire: exactly what the SDK sends with gzip:true vs. fetch's default list.
    const asked = await fetch(`${envd.url}/files?path=${encodeURIComponent(path)}`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(asked.headers.get("content-encoding"), "gzip");
    assert.equal(await asked.text(), text);
    const plain = await fetch(`${envd.url}/files?path=${encodeURIComponent(path)}`);
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(plain.headers.get("content-length"), String(text.length));
    assert.equal(await plain.text(), text);
    const refused = await fetch(`${envd.url}/files?path=${encodeURIComponent(path)}`, { headers: { "accept-encoding": "br, identity;q=0" } });
    assert.equal(refused.status, 406);
    await refused.body?.cancel();
  });

  it("rejects a corrupt gzip body and leaves the previous file alone", async () => {
    const path = join(dir, "corrupt.txt");
    await writeFile(path, "previous");
    const res = await fetch(`${envd.url}/files?path=${encodeURIComponent(path)}`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "content-encoding": "gzip" },
      body: "definitely not gzip",
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /gzip/);
    assert.equal(await readFile(path, "utf8"), "previous");
    assert.deepEqual(await tempFiles(dir), []);
  });

  it("makes files and new parent directories owned by the requesting user", async () => {
    const uid = Number(execFileSync("id", ["-u", "user"], { encoding: "utf8" }).trim());
    // A root-owned directory anyone may write in, so the user may create below it.
    await chmod(dir, 0o777);
    const path = join(dir, "owned/sub/file.txt");
    await sdk.sandbox.files.write(path, "mine", { user: "user" });
    assert.equal((await stat(path)).uid, uid);
    assert.equal((await stat(join(dir, "owned/sub"))).uid, uid);
    assert.equal((await stat(join(dir, "owned"))).uid, uid);
    assert.equal((await stat(dir)).uid, 0, "existing directories keep their owner");
    // Overwriting a root-owned file as user hands it to user too.
    const rootFile = join(dir, "was-root.txt");
    await writeFile(rootFile, "root");
    await sdk.sandbox.files.write(rootFile, "user now", { user: "user" });
    assert.equal((await stat(rootFile)).uid, uid);
  });

  it("resolves relative paths against the user's home", async () => {
    const name = `cove-files-test-${process.pid}.txt`;
    const info = await sdk.sandbox.files.write(name, "home", { user: "user" });
    try {
      const home = execFileSync("sh", ["-c", "getent passwd user | cut -d: -f6"], { encoding: "utf8" }).trim();
      assert.equal(info.path, join(home, name));
      assert.equal(await readFile(join(home, name), "utf8"), "home");
      assert.equal(await sdk.sandbox.files.read(`~/${name}`, { user: "user" }), "home");
    } finally {
      await rm(info.path, { force: true });
    }
  });

  it("reports a missing file as FileNotFoundError and a directory as invalid", async () => {
    const missing = join(dir, "nope.txt");
    await assert.rejects(sdk.sandbox.files.read(missing), (err: unknown) => {
      assert.ok(err instanceof FileNotFoundError);
      assert.match(err.message, new RegExp(`path '${missing}' does not exist`));
      return true;
    });
    await assert.rejects(sdk.sandbox.files.read(dir), InvalidArgumentError);
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    await assert.rejects(sdk.sandbox.files.read(fifo), InvalidArgumentError, "a FIFO is refused, not waited on");
    await assert.rejects(sdk.sandbox.files.write(fifo, "x"), InvalidArgumentError, "a FIFO is not replaced");
    await assert.rejects(sdk.sandbox.files.write(dir, "x"), InvalidArgumentError);
    // As E2B's envd: an unknown user is a 401, the SDK's AuthenticationError.
    await assert.rejects(sdk.sandbox.files.read("/etc/passwd", { user: "no-such-user" }), AuthenticationError);
  });

  it("overwrites in place: keeps the mode and writes through symlinks", async () => {
    const path = join(dir, "script.sh");
    await writeFile(path, "old old old old");
    await chmod(path, 0o750);
    await sdk.sandbox.files.write(path, "new");
    assert.equal(await readFile(path, "utf8"), "new");
    assert.equal((await stat(path)).mode & 0o777, 0o750);

    const target = join(dir, "target.txt");
    const link = join(dir, "link.txt");
    await writeFile(target, "before");
    await symlink(target, link);
    await sdk.sandbox.files.write(link, "through the link");
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readFile(target, "utf8"), "through the link");
  });

  it("keeps the previous content when an upload is aborted, and removes its temp file", async () => {
    const path = join(dir, "precious.txt");
    await writeFile(path, "precious data");
    await new Promise<void>((resolve, reject) => {
      const req = request(`${envd.url}/files?path=${encodeURIComponent(path)}`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream", "transfer-encoding": "chunked" },
      });
      req.on("error", () => resolve());
      req.write(randomBytes(256 * 1024), (err) => {
        if (err) return reject(err);
        // Let envd start writing the temp file, then vanish mid-body.
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
    });
    await waitFor(async () => (await tempFiles(dir)).length === 0);
    assert.equal(await readFile(path, "utf8"), "precious data");
  });

  it("refuses two parts for the same path", async () => {
    const form = new FormData();
    form.append("file", new Blob(["one"]), join(dir, "dup.txt"));
    form.append("file", new Blob(["two"]), join(dir, "dup.txt"));
    const res = await fetch(`${envd.url}/files`, { method: "POST", body: form });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /same path/);
  });

  it("refuses an octet-stream upload without a path and unknown content types", async () => {
    const noPath = await fetch(`${envd.url}/files`, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "x" });
    assert.equal(noPath.status, 400);
    await noPath.body?.cancel();
    const text = await fetch(`${envd.url}/files?path=${encodeURIComponent(join(dir, "t.txt"))}`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    assert.equal(text.status, 400);
    await text.body?.cancel();
  });

  it("serves byte ranges, content type and last-modified", async () => {
    const path = join(dir, "range.json");
    await writeFile(path, '{"0123456789":true}');
    const url = `${envd.url}/files?path=${encodeURIComponent(path)}`;
    const partial = await fetch(url, { headers: { range: "bytes=2-5" } });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get("content-range"), "bytes 2-5/19");
    assert.equal(await partial.text(), "0123");
    const suffix = await fetch(url, { headers: { range: "bytes=-5" } });
    assert.equal(await suffix.text(), "true}");
    const beyond = await fetch(url, { headers: { range: "bytes=100-" } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get("content-range"), "bytes */19");
    await beyond.body?.cancel();
    const whole = await fetch(url);
    assert.equal(whole.headers.get("content-type"), "application/json");
    assert.equal(whole.headers.get("last-modified"), (await stat(path)).mtime.toUTCString());
    assert.deepEqual(await whole.json(), { "0123456789": true });
  });
});

async function tempFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.includes(".cove-upload-"));
}

/** Polls a condition (envd cleans up asynchronously after a client vanishes); fails after 10 s. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await sleep(50);
  }
  assert.fail("condition not reached within 10 s");
}
