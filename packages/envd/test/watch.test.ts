import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { appendFile, chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { FileNotFoundError, InvalidArgumentError, TimeoutError, type FilesystemEvent, type WatchHandle } from "e2b";
import { connectSdk, startEnvd, type SdkHandle, type TestEnvd } from "./helpers/envd.js";

/** Polls until `check` passes; the bound only keeps a broken build from hanging the suite. */
async function eventually(check: () => boolean, what: string, boundMs = 10_000): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > boundMs) assert.fail(`gave up waiting for ${what}`);
    await sleep(20);
  }
}

/** Pids of this process's children that run the given executable (found by pid via /proc, never by name). */
function childPidsRunning(executable: string): number[] {
  const pids: number[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    const children = readFileSync(`/proc/self/task/${tid}/children`, "utf8").trim();
    for (const pid of children ? children.split(/\s+/).map(Number) : []) {
      try {
        if (readlinkSync(`/proc/${pid}/exe`) === executable) pids.push(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
  return pids;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("envd WatchDir through the e2b SDK", () => {
  let envd: TestEnvd;
  let sdk: SdkHandle;
  let dir: string;
  const handles: WatchHandle[] = [];
  before(async () => {
    envd = await startEnvd();
    sdk = await connectSdk(envd);
    dir = await mkdtemp(join(tmpdir(), "cove-watch-"));
  });
  after(async () => {
    for (const handle of handles) await handle.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await sdk?.close();
    await envd?.close();
  });

  let counter = 0;
  async function watched(opts: { recursive?: boolean; includeEntry?: boolean } = {}) {
    const path = join(dir, `w${counter++}`);
    await mkdir(path);
    const events: FilesystemEvent[] = [];
    const handle = await sdk.sandbox.files.watchDir(path, (e) => void events.push(e), opts);
    handles.push(handle);
    const seen = (type: string, name: string) => events.some((e) => e.type === type && e.name === name);
    return { path, events, handle, seen };
  }

  it("reports create, write, chmod, rename and remove with names relative to the watched dir", async () => {
    const w = await watched();
    await writeFile(join(w.path, "a.txt"), "1");
    await eventually(() => w.seen("create", "a.txt"), "create a.txt");
    await appendFile(join(w.path, "a.txt"), "2");
    await eventually(() => w.seen("write", "a.txt"), "write a.txt");
    await chmod(join(w.path, "a.txt"), 0o600);
    await eventually(() => w.seen("chmod", "a.txt"), "chmod a.txt");
    await rename(join(w.path, "a.txt"), join(w.path, "b.txt"));
    await eventually(() => w.seen("rename", "a.txt") && w.seen("create", "b.txt"), "rename a.txt → b.txt");
    await rm(join(w.path, "b.txt"));
    await eventually(() => w.seen("remove", "b.txt"), "remove b.txt");
    // The old name gets RENAME before the new name gets CREATE, as with fsnotify.
    const renameAt = w.events.findIndex((e) => e.type === "rename" && e.name === "a.txt");
    const createAt = w.events.findIndex((e) => e.type === "create" && e.name === "b.txt");
    assert.ok(renameAt < createAt);
    assert.ok(
      w.events.every((e) => e.entry === undefined),
      "no entries unless asked for",
    );
  });

  it("attaches entry info when includeEntry is set and the path still exists", async () => {
    const w = await watched({ includeEntry: true });
    await writeFile(join(w.path, "e.txt"), "abc");
    await eventually(() => w.seen("write", "e.txt"), "write e.txt");
    const created = w.events.find((e) => e.type === "create" && e.name === "e.txt");
    assert.equal(created?.entry?.path, join(w.path, "e.txt"));
    assert.equal(created?.entry?.type, "file");
    await rm(join(w.path, "e.txt"));
    await eventually(() => w.seen("remove", "e.txt"), "remove e.txt");
    assert.equal(w.events.find((e) => e.type === "remove")?.entry, undefined);
  });

  it("an upload through files.write reads as E2B's in-place write: CREATE+WRITE when new, WRITE when replacing, no temp names", async () => {
    const w = await watched({ includeEntry: true });
    await sdk.sandbox.files.write(join(w.path, "up.txt"), "first");
    await eventually(() => w.seen("write", "up.txt"), "write up.txt (new)");
    const create = w.events.findIndex((e) => e.type === "create" && e.name === "up.txt");
    const write = w.events.findIndex((e) => e.type === "write" && e.name === "up.txt");
    assert.ok(create !== -1 && create < write, "CREATE before WRITE for a new file");
    assert.equal(w.events[write]?.entry?.size, 5);
    const before = w.events.length;
    await sdk.sandbox.files.write(join(w.path, "up.txt"), "second!", { useOctetStream: true });
    await eventually(() => w.events.slice(before).some((e) => e.type === "write" && e.name === "up.txt"), "write up.txt (replaced)");
    await writeFile(join(w.path, "marker"), "");
    await eventually(() => w.seen("create", "marker"), "marker");
    assert.deepEqual(
      w.events
        .slice(before)
        .filter((e) => e.name === "up.txt")
        .map((e) => e.type),
      ["write"],
      "replacing a file is one WRITE",
    );
    assert.deepEqual(
      w.events.filter((e) => e.name.includes("cove-upload")),
      [],
    );
  });

  it("recursive: an upload into a subdirectory reports WRITE with the relative name", async () => {
    const w = await watched({ recursive: true });
    await mkdir(join(w.path, "nested"));
    await eventually(() => w.seen("create", "nested"), "create nested");
    await sdk.sandbox.files.write(join(w.path, "nested/f.txt"), "x");
    await eventually(() => w.seen("write", "nested/f.txt"), "write nested/f.txt");
    assert.ok(w.events.every((e) => !e.name.includes("cove-upload")));
  });

  it("recursive: reports a file created in a new subdirectory", async () => {
    const w = await watched({ recursive: true });
    await mkdir(join(w.path, "sub/deeper"), { recursive: true });
    await writeFile(join(w.path, "sub/deeper/f.txt"), "x");
    await eventually(() => w.seen("create", "sub/deeper/f.txt"), "create sub/deeper/f.txt");
    assert.ok(w.seen("create", "sub"));
    await writeFile(join(w.path, "sub/g.txt"), "later");
    await eventually(() => w.seen("create", "sub/g.txt") && w.seen("write", "sub/g.txt"), "sub/g.txt");
  });

  it("non-recursive: no events from inside subdirectories", async () => {
    const path = join(dir, `w${counter++}`);
    await mkdir(join(path, "sub"), { recursive: true });
    const events: FilesystemEvent[] = [];
    handles.push(await sdk.sandbox.files.watchDir(path, (e) => void events.push(e)));
    await writeFile(join(path, "sub/inner.txt"), "x");
    await writeFile(join(path, "marker"), "");
    // Events arrive in order, so once the marker is seen the inner write would have been too.
    await eventually(() => events.some((e) => e.name === "marker"), "marker");
    assert.deepEqual(
      events.filter((e) => e.name.startsWith("sub/")),
      [],
    );
  });

  it("watching a missing path is FileNotFoundError, a file is an invalid argument", async () => {
    await assert.rejects(
      sdk.sandbox.files.watchDir(join(dir, "missing"), () => {}),
      FileNotFoundError,
    );
    await writeFile(join(dir, "plain-file"), "");
    await assert.rejects(
      sdk.sandbox.files.watchDir(join(dir, "plain-file"), () => {}),
      InvalidArgumentError,
    );
  });

  it("passes names with tabs, newlines and backslashes through unchanged", async () => {
    const w = await watched();
    const name = "odd\tname\nwith\\slash";
    await writeFile(join(w.path, name), "");
    await eventually(() => w.seen("create", name), "create of the odd name");
  });

  it("ends the stream and the helper at the client's deadline", async () => {
    const helper = envd.server.context.config.watchHelper;
    const before = new Set(childPidsRunning(helper));
    const path = join(dir, `w${counter++}`);
    await mkdir(path);
    let exited: { err: Error | undefined } | undefined;
    handles.push(
      await sdk.sandbox.files.watchDir(path, () => {}, {
        timeoutMs: 1000,
        onExit: (err) => {
          exited = { err };
        },
      }),
    );
    const pids = childPidsRunning(helper).filter((pid) => !before.has(pid));
    assert.equal(pids.length, 1);
    await eventually(() => exited !== undefined, "the watch to end");
    assert.ok(exited?.err instanceof TimeoutError, `expected a TimeoutError, got ${exited?.err}`);
    await eventually(() => !pidAlive(pids[0]!), "cove-watch to exit");
  });

  it("handle.stop() ends the helper process", async () => {
    const helper = envd.server.context.config.watchHelper;
    const before = new Set(childPidsRunning(helper));
    const w = await watched();
    const started = childPidsRunning(helper).filter((pid) => !before.has(pid));
    assert.equal(started.length, 1, "one cove-watch child per watch");
    const pid = started[0]!;
    await w.handle.stop();
    await eventually(() => !pidAlive(pid), `cove-watch pid ${pid} to exit`);
  });
});
