import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { after, before, describe, it } from "node:test";
import { AuthenticationError } from "e2b";
import { MAX_FIELD_FILE_BYTES } from "../src/http/files-upload.js";
import { connectSdk, ensureTestUser, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

const TOKEN = "envd-test-token-0123456789";
const BAD_TOKENS: Array<Record<string, string>> = [{}, { "x-access-token": "wrong" }];
const UNAUTHORIZED = { code: 401, message: "unauthorized access, please provide a valid access token or method signing if supported" };

describe("envd access token", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "cove-auth-"));
    envd = await startEnvd();
    sdk = await connectSdk(envd, { accessToken: TOKEN });
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("lets the SDK holding the token do everything", async () => {
    assert.equal(await sdk.sandbox.isRunning(), true);
    const path = join(dir, "sdk.txt");
    await sdk.sandbox.files.write(path, "with token");
    assert.equal(await sdk.sandbox.files.read(path), "with token");
    await sdk.sandbox.files.write(join(dir, "gz.txt"), "zipped", { gzip: true });
    assert.equal(await sdk.sandbox.files.read(join(dir, "gz.txt"), { gzip: true }), "zipped");
  });

  it("answers RPC paths without or with a wrong token with 401 JSON", async () => {
    for (const headers of BAD_TOKENS) {
      const res = await fetch(`${envd.url}/filesystem.Filesystem/Stat`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ path: "/" }),
      });
      assert.equal(res.status, 401);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await res.json(), UNAUTHORIZED);
    }
    const ok = await fetch(`${envd.url}/filesystem.Filesystem/Stat`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-access-token": TOKEN },
      body: JSON.stringify({ path: "/" }),
    });
    assert.notEqual(ok.status, 401);
    await ok.body?.cancel();
  });

  it("guards GET and POST /files, /envs and /metrics; /health stays open", async () => {
    const path = join(dir, "guarded.txt");
    await writeFile(path, "secret");
    const url = `${envd.url}/files?path=${encodeURIComponent(path)}`;
    for (const headers of BAD_TOKENS) {
      const get = await fetch(url, { headers });
      assert.equal(get.status, 401);
      assert.deepEqual(await get.json(), UNAUTHORIZED);
      const post = await fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/octet-stream" }, body: "overwritten" });
      assert.equal(post.status, 401);
      await post.body?.cancel();
      for (const route of ["/envs", "/metrics"]) {
        const res = await fetch(`${envd.url}${route}`, { headers });
        assert.equal(res.status, 401, route);
        assert.deepEqual(await res.json(), UNAUTHORIZED);
      }
    }
    assert.equal(await readFile(path, "utf8"), "secret");
    const good = await fetch(url, { headers: { "x-access-token": TOKEN } });
    assert.equal(await good.text(), "secret");
    const health = await fetch(`${envd.url}/health`);
    assert.equal(health.status, 204);
  });

  it("shows a client without the token an AuthenticationError", async () => {
    const intruder = await connectSdk({ url: envd.url }, {});
    try {
      await assert.rejects(intruder.sandbox.files.read("/etc/hostname"), AuthenticationError);
    } finally {
      await intruder.close();
    }
  });

  it("refuses /init without the current token", async () => {
    for (const headers of BAD_TOKENS) {
      const res = await fetch(`${envd.url}/init`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ accessToken: "hijacked", envVars: { EVIL: "1" } }),
      });
      assert.equal(res.status, 401);
      assert.deepEqual(await res.json(), UNAUTHORIZED);
    }
    const envs = await fetch(`${envd.url}/envs`, { headers: { "x-access-token": TOKEN } });
    assert.equal(((await envs.json()) as Record<string, string>).EVIL, undefined);
    assert.equal(await sdk.sandbox.isRunning(), true);
    assert.equal(await sdk.sandbox.files.read("/etc/hostname").then(() => "ok"), "ok");
  });
});

describe("envd signed file URLs", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "cove-signed-"));
    envd = await startEnvd();
    sdk = await connectSdk(envd, { accessToken: TOKEN });
  });
  after(async () => {
    await sdk?.close();
    await envd?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("downloads with a signed URL and plain fetch", async () => {
    const path = join(dir, "shared.txt");
    await writeFile(path, "signed read");
    for (const url of [await sdk.sandbox.downloadUrl(path), await sdk.sandbox.downloadUrl(path, { useSignatureExpiration: 60 })]) {
      assert.match(url, /signature=v1_/);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "signed read");
    }
    const asRoot = await sdk.sandbox.downloadUrl(path, { user: "root", useSignatureExpiration: 60 });
    assert.match(asRoot, /username=root/);
    assert.equal(await (await fetch(asRoot)).text(), "signed read");
  });

  it("uploads with a signed URL, with and without a path in it", async () => {
    const path = join(dir, "uploaded.txt");
    const withPath = await sdk.sandbox.uploadUrl(path, { useSignatureExpiration: 60 });
    const form = new FormData();
    form.append("file", new Blob(["signed write"]), "ignored-name");
    const res = await fetch(withPath, { method: "POST", body: form });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [{ path, name: "uploaded.txt", type: "file" }]);
    assert.equal(await readFile(path, "utf8"), "signed write");

    const other = join(dir, "by-filename.txt");
    const noPath = await sdk.sandbox.uploadUrl();
    assert.doesNotMatch(noPath, /[?&]path=/);
    const form2 = new FormData();
    form2.append("file", new Blob(["by filename"]), other);
    const res2 = await fetch(noPath, { method: "POST", body: form2 });
    assert.equal(res2.status, 200);
    assert.equal(await readFile(other, "utf8"), "by filename");
  });

  it("uploads a plain form field named file (no filename) to the signed URL's path, as user and as root", async () => {
    ensureTestUser();
    await chmod(dir, 0o755); // mkdtemp's 0700 would keep the user out
    const userDir = join(dir, "user-owned");
    await mkdir(userDir);
    await chown(userDir, Number(execFileSync("id", ["-u", "user"], { encoding: "utf8" })), 0);
    for (const [user, path] of [
      ["user", join(userDir, "plain.txt")],
      ["root", join(dir, "plain-root.txt")],
    ] as const) {
      const url = await sdk.sandbox.uploadUrl(path, { user, useSignatureExpiration: 60 });
      const form = new FormData();
      form.append("file", "plain field content ✓");
      const res = await fetch(url, { method: "POST", body: form });
      assert.equal(res.status, 200, user);
      assert.deepEqual(await res.json(), [{ path, name: posix.basename(path), type: "file" }]);
      assert.equal(await readFile(path, "utf8"), "plain field content ✓");
      assert.equal((await stat(path)).uid, user === "root" ? 0 : (await stat(userDir)).uid);
    }
    // Without a path in the URL, a field has no filename to name the destination.
    const form = new FormData();
    form.append("file", "nowhere");
    const res = await fetch(await sdk.sandbox.uploadUrl(), { method: "POST", body: form });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /no filename and no path/);

    // A field's content is held in memory, so it is capped; never silently truncated.
    const big = join(dir, "too-big.txt");
    const bigForm = new FormData();
    bigForm.append("file", "x".repeat(MAX_FIELD_FILE_BYTES + 1));
    const bigRes = await fetch(await sdk.sandbox.uploadUrl(big, { user: "root", useSignatureExpiration: 60 }), { method: "POST", body: bigForm });
    assert.equal(bigRes.status, 400);
    assert.match(((await bigRes.json()) as { message: string }).message, /limited to/);
    await assert.rejects(stat(big), { code: "ENOENT" });
  });

  it("rejects tampered, misapplied and expired signatures with 401", async () => {
    const path = join(dir, "target.txt");
    await writeFile(path, "original");
    const good = new URL(await sdk.sandbox.downloadUrl(path, { useSignatureExpiration: 60 }));

    const tampered = new URL(good);
    const sig = tampered.searchParams.get("signature")!;
    tampered.searchParams.set("signature", sig.slice(0, -1) + (sig.endsWith("A") ? "B" : "A"));
    const otherPath = new URL(good);
    otherPath.searchParams.set("path", "/etc/shadow");
    const longer = new URL(good);
    longer.searchParams.set("signature_expiration", String(Number(good.searchParams.get("signature_expiration")) + 3600));
    const readAsWrite = new URL(good);
    const expired = new URL(await sdk.sandbox.downloadUrl(path, { useSignatureExpiration: -10 }));
    const wrongHeader = good;

    const cases: Array<[string, Promise<Response>, RegExp]> = [
      ["tampered", fetch(tampered), /invalid signature/],
      ["other path", fetch(otherPath), /invalid signature/],
      ["extended expiration", fetch(longer), /invalid signature/],
      ["expired", fetch(expired), /expired/],
      [
        "read signature used to write",
        fetch(readAsWrite, { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "x" }),
        /invalid signature/,
      ],
      ["valid signature but wrong header token", fetch(wrongHeader, { headers: { "x-access-token": "wrong" } }), /unauthorized/],
      ["no signature", fetch(`${envd.url}/files?path=${encodeURIComponent(path)}`), /unauthorized/],
    ];
    for (const [name, pending, message] of cases) {
      const res = await pending;
      assert.equal(res.status, 401, name);
      const body = (await res.json()) as { code: number; message: string };
      assert.equal(body.code, 401, name);
      assert.match(body.message, message, name);
    }
    assert.equal(await readFile(path, "utf8"), "original");
  });
});
