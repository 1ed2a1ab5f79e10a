// The polling watcher RPCs are not used by the JS SDK, so this drives them
// with a plain Connect client speaking the binary protobuf codec over HTTP/2
// (how the Go and Python clients talk), which also proves both for filesystem.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { EventType, FileType, Filesystem, type FilesystemEvent } from "@cove/protocol/filesystem";
import { startEnvd, type TestEnvd } from "./helpers/envd.js";

/** Pids of this process's children running `executable`, found through /proc by pid. */
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

describe("envd polling watchers over binary Connect on HTTP/2", () => {
  let envd: TestEnvd;
  let client: Client<typeof Filesystem>;
  let dir: string;
  before(async () => {
    envd = await startEnvd();
    client = createClient(Filesystem, createConnectTransport({ baseUrl: envd.url, httpVersion: "2", useBinaryFormat: true }));
    dir = await mkdtemp(join(tmpdir(), "cove-poll-"));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await envd?.close();
  });

  async function drainUntil(watcherId: string, done: (events: FilesystemEvent[]) => boolean): Promise<FilesystemEvent[]> {
    const events: FilesystemEvent[] = [];
    for (let round = 0; !done(events); round++) {
      if (round > 500) assert.fail(`gave up waiting; got ${JSON.stringify(events.map((e) => [e.type, e.name]))}`);
      events.push(...(await client.getWatcherEvents({ watcherId })).events);
      if (!done(events)) await sleep(20);
    }
    return events;
  }

  it("stats a file with the binary codec", async () => {
    await writeFile(join(dir, "s.txt"), "four");
    const { entry } = await client.stat({ path: join(dir, "s.txt") });
    assert.equal(entry?.type, FileType.FILE);
    assert.equal(entry?.size, 4n);
    assert.equal(entry?.permissions.length, 10);
  });

  it("buffers events until drained, then forgets the watcher after RemoveWatcher", async () => {
    const path = join(dir, "watched");
    await mkdir(path);
    const { watcherId } = await client.createWatcher({ path, recursive: true, includeEntry: true });
    assert.match(watcherId, /^w/);

    await mkdir(join(path, "sub"));
    await writeFile(join(path, "sub/f.txt"), "x");
    const events = await drainUntil(watcherId, (es) => es.some((e) => e.name === "sub/f.txt" && e.type === EventType.WRITE));
    const created = events.find((e) => e.name === "sub/f.txt" && e.type === EventType.CREATE);
    assert.equal(created?.entry?.path, join(path, "sub/f.txt"));
    // Drained events are not returned twice.
    assert.deepEqual((await client.getWatcherEvents({ watcherId })).events, []);

    await client.removeWatcher({ watcherId });
    await assert.rejects(client.getWatcherEvents({ watcherId }), (err: unknown) => {
      assert.ok(err instanceof ConnectError);
      assert.equal(err.code, Code.NotFound);
      return true;
    });
  });

  it("unknown watcher ids and missing paths are not_found", async () => {
    for (const call of [
      () => client.getWatcherEvents({ watcherId: "nope" }),
      () => client.removeWatcher({ watcherId: "nope" }),
      () => client.createWatcher({ path: join(dir, "missing") }),
    ]) {
      await assert.rejects(call(), (err: unknown) => err instanceof ConnectError && err.code === Code.NotFound);
    }
  });

  it("streams WatchDir over binary HTTP/2 with start first", async () => {
    const path = join(dir, "streamed");
    await mkdir(path);
    const abort = new AbortController();
    const stream = client.watchDir({ path }, { signal: abort.signal });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.value?.event.case, "start");
    await writeFile(join(path, "n.txt"), "");
    const second = await iterator.next();
    assert.equal(second.value?.event.case, "filesystem");
    assert.equal(second.value?.event.value?.name, "n.txt");
    abort.abort();
    await iterator.return?.();
  });

  it("sends keepalive messages at the Keepalive-Ping-Interval the client asks for", async () => {
    const abort = new AbortController();
    const stream = client.watchDir({ path: dir }, { signal: abort.signal, headers: { "keepalive-ping-interval": "1" } });
    const iterator = stream[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value?.event.case, "start");
    assert.equal((await iterator.next()).value?.event.case, "keepalive");
    abort.abort();
    await iterator.return?.();
  });

  it("envd close() stops polling watchers and open watch streams", async () => {
    const other = await startEnvd();
    const helper = other.server.context.config.watchHelper;
    const before = new Set(childPidsRunning(helper));
    const otherClient = createClient(Filesystem, createConnectTransport({ baseUrl: other.url, httpVersion: "2", useBinaryFormat: true }));
    await otherClient.createWatcher({ path: dir });
    const stream = otherClient.watchDir({ path: dir })[Symbol.asyncIterator]();
    assert.equal((await stream.next()).value?.event.case, "start");
    const pids = childPidsRunning(helper).filter((pid) => !before.has(pid));
    assert.equal(pids.length, 2);
    const ended = (async () => {
      try {
        while (!(await stream.next()).done);
      } catch {
        // the server went away mid-stream; ending is what matters
      }
    })();
    await other.close();
    await ended;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let waited = 0; pids.some(alive); waited += 20) {
      if (waited > 10_000) assert.fail(`helpers still running: ${pids.filter(alive)}`);
      await sleep(20);
    }
  });
});
