// envd's file behaviours that must match E2B, through the official e2b SDK
// against `cove up`: file metadata, watch events for uploads, removing a
// missing path, and signed uploads of a plain form field.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type FilesystemEvent, FilesystemEventType, Sandbox } from "e2b";
import { suiteNetwork } from "../support/networks.js";
import { type CoveUp, killLeftovers, startCoveUp } from "./helpers/cove-up.js";
import { removeDataDir } from "../support/data-dirs.js";

/** Polls until `check` passes; the bound only keeps a broken build from hanging the suite. */
async function eventually(check: () => boolean, what: string, boundMs = 30_000): Promise<void> {
  for (let waited = 0; !check(); waited += 50) {
    if (waited > boundMs) assert.fail(`gave up waiting for ${what}`);
    await sleep(50);
  }
}

describe("e2b SDK file parity against cove up", () => {
  const network = suiteNetwork("e2e/files-parity");
  let dataDir = "";
  let up: CoveUp | undefined;
  let sbx: Sandbox;

  before(async () => {
    dataDir = mkdtempSync("/var/tmp/cove-cmf-");
    up = await startCoveUp({ dataDir, ...network });
    sbx = await Sandbox.create({ apiKey: up.apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 });
  });

  after(async () => {
    if (up) {
      const opts = { apiKey: up.apiKey, apiUrl: up.url, sandboxUrl: up.url };
      const listed = await Sandbox.list(opts)
        .nextItems()
        .catch(() => []);
      for (const s of listed) await Sandbox.kill(s.sandboxId, opts).catch(() => false);
      await up.stop();
    }
    if (dataDir) {
      await killLeftovers({ dataDir, ...network });
      await removeDataDir(dataDir);
    }
  });

  it("stores, reports and replaces file metadata; sees metadata set inside the sandbox", async () => {
    const metadata = { author: "ada", purpose: "upload" };
    const info = await sbx.files.write("meta.txt", "content", { metadata });
    assert.deepEqual(info.metadata, metadata);
    assert.deepEqual((await sbx.files.getInfo("meta.txt")).metadata, metadata);
    const octet = await sbx.files.write("meta-octet.txt", "content", { metadata, useOctetStream: true });
    assert.deepEqual(octet.metadata, metadata);
    const listed = (await sbx.files.list("/home/user")).find((e) => e.name === "meta-octet.txt");
    assert.deepEqual(listed?.metadata, metadata);
    assert.deepEqual((await sbx.files.rename("meta.txt", "meta-renamed.txt")).metadata, metadata);

    const cleared = await sbx.files.write("meta-octet.txt", "again");
    assert.equal(cleared.metadata, undefined);
    assert.equal((await sbx.files.getInfo("meta-octet.txt")).metadata, undefined);

    await sbx.files.write("tagged.txt", "x");
    await sbx.commands.run(`python3 -c "import os; os.setxattr('/home/user/tagged.txt', 'user.e2b.author', b'ada')"`);
    assert.deepEqual((await sbx.files.getInfo("tagged.txt")).metadata, { author: "ada" });
  });

  it("a watcher sees files.write as WRITE of the file name (recursive too), never a temp name", async () => {
    await sbx.files.makeDir("watched/nested");
    await sbx.files.write("watched/existing.txt", "v1");
    const events: FilesystemEvent[] = [];
    const handle = await sbx.files.watchDir("watched", (e) => void events.push(e), { recursive: true, includeEntry: true });
    try {
      await sbx.files.write("watched/existing.txt", "v2");
      await sbx.files.write("watched/nested/new.txt", "new");
      const seen = (type: FilesystemEventType, name: string) => events.some((e) => e.type === type && e.name === name);
      await eventually(() => seen(FilesystemEventType.WRITE, "existing.txt"), "WRITE existing.txt");
      await eventually(() => seen(FilesystemEventType.WRITE, "nested/new.txt"), "WRITE nested/new.txt");
      assert.ok(seen(FilesystemEventType.CREATE, "nested/new.txt"), "a new file is created first");
      assert.equal(events.find((e) => e.type === FilesystemEventType.WRITE && e.name === "existing.txt")?.entry?.path, "/home/user/watched/existing.txt");
      assert.deepEqual(
        events.filter((e) => e.name.includes("cove-upload")),
        [],
      );
    } finally {
      await handle.stop();
    }
  });

  it("a write as the user to a new top-level dir makes it, the user's (E2B's own SDK test writes /0/…)", async () => {
    const top = `/cove-parity-${process.pid}`;
    const infos = await sbx.files.write([{ path: `${top}/a/one.txt`, data: "one" }]);
    assert.equal(infos[0]?.path, `${top}/a/one.txt`);
    assert.equal(await sbx.files.read(`${top}/a/one.txt`), "one");
    const owner = await sbx.commands.run(`stat -c %U ${top} ${top}/a ${top}/a/one.txt`);
    assert.equal(owner.stdout, "user\nuser\nuser\n");
    // The file itself is still the user's to write: root's /etc is not.
    await assert.rejects(sbx.files.write("/etc/cove-parity.txt", "x"), /permission denied/);
  });

  it("removing a path that does not exist succeeds", async () => {
    await sbx.files.remove("never-existed.txt");
    await sbx.files.remove("/home/user/no-dir/below.txt");
    assert.equal(await sbx.files.exists("never-existed.txt"), false);
  });

  it("a signed upload URL takes a plain form field, as user and as root", async () => {
    for (const [user, path] of [
      ["user", "/home/user/signed-plain.txt"],
      ["root", "/root/signed-plain.txt"],
    ] as const) {
      // Absolute: Cove's base template sets workdir /home/user, so a relative path resolves there for root too.
      const url = await sbx.uploadUrl(path, { user, useSignatureExpiration: 60 });
      const form = new FormData();
      form.append("file", `plain for ${user}`);
      const res = await fetch(url, { method: "POST", body: form });
      assert.equal(res.status, 200, await res.clone().text());
      assert.deepEqual(await res.json(), [{ name: "signed-plain.txt", path, type: "file" }]);
      assert.equal(await sbx.files.read(path, { user: "root" }), `plain for ${user}`);
    }
  });
});
