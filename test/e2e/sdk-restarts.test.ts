// The official e2b SDK against `cove up` while its parts stop, crash and restart.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Sandbox } from "e2b";
import { describeSdkSuite } from "./helpers/sdk-suite.js";

describeSdkSuite("e2b SDK against cove up: restarts", "e2e/sdk-restarts", (s) => {
  it("a node that dies is restarted; its sandboxes carry on", async () => {
    const sbx = await s.create({ timeoutMs: 300_000 });
    const bg = await sbx.commands.run("sleep 900", { background: true, timeoutMs: 0 });
    // The node is cove up's only child process (decision 0009); find it by cove up's own pid.
    const children = readFileSync(`/proc/${s.up.proc.pid}/task/${s.up.proc.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    assert.equal(children.length, 1, `children of cove up: ${children.join(",")}`);
    const nodePid = children[0]!;
    process.kill(nodePid, "SIGKILL");
    let again: number[] = [];
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      again = readFileSync(`/proc/${s.up.proc.pid}/task/${s.up.proc.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
      if (again.length === 1 && again[0] !== nodePid) break;
    }
    assert.ok(again.length === 1 && again[0] !== nodePid, "a new node was started");
    // The sandbox never depended on the node process; the new node re-adopts it.
    assert.equal((await sbx.commands.run("echo alive")).stdout, "alive\n");
    let info = await sbx.getInfo().catch(() => undefined);
    for (let i = 0; i < 50 && info?.state !== "running"; i++) {
      await sleep(200);
      info = await sbx.getInfo().catch(() => undefined);
    }
    assert.equal(info?.state, "running");
    assert.ok((await sbx.commands.list()).some((p) => p.pid === bg.pid));
    const fresh = await s.create();
    assert.equal((await fresh.commands.run("echo new")).stdout, "new\n");
    await fresh.kill();
    assert.equal(await sbx.kill(), true);
  });

  it("SIGTERM during creates leaves nothing half-made: every sandbox has a record and every record a sandbox", async () => {
    // Several creates in flight (the pool holds one, the rest boot cold) when the signal comes.
    const creates = [0, 1, 2].map(() =>
      s.create({ metadata: { phase: "shutdown" } }).then(
        (s) => s.sandboxId,
        () => undefined,
      ),
    );
    await sleep(30);
    const stopped = s.up;
    assert.equal(await s.up.stop(), 0, s.up.stderr());
    const made = (await Promise.all(creates)).filter((id): id is string => id !== undefined);
    console.log(`# ${made.length} of 3 creates answered before the shutdown`);
    await s.startAgain();
    await sleep(500);
    const listed = (await Sandbox.list({ ...s.opts(), query: { metadata: { phase: "shutdown" } } }).nextItems()).map((s) => s.sandboxId).sort();
    // Whatever the API answered with an id exists; nothing exists that it did not answer with.
    const logs = () => `cove up before the restart:\n${stopped.stderr()}\nafter:\n${s.up.stderr()}`;
    assert.deepEqual(listed, [...made].sort(), logs());
    for (const id of listed) {
      const sbx = await Sandbox.connect(id, s.opts());
      const ran = await sbx.commands.run("echo ok").catch((err: unknown) => assert.fail(`${id}: ${String(err)}\n${logs()}`));
      assert.equal(ran.stdout, "ok\n");
      await sbx.kill();
    }
    const onNode = readdirSync(`${s.dataDir}/sandboxes`).filter((d) => !d.startsWith("."));
    assert.ok(
      onNode.every((id) => !listed.includes(id)),
      `killed sandboxes are gone from the node: ${onNode.join(",")}`,
    );
  });

  it("a restart keeps the key, the sandboxes, their files and processes", async () => {
    const sbx = await s.create({ timeoutMs: 300_000 });
    await sbx.files.write("/home/user/keep.txt", "kept");
    // timeoutMs 0: the default 60 s stream deadline would kill it (envd semantics), restart or not.
    const bg = await sbx.commands.run("sleep 900", { background: true, timeoutMs: 0 });
    const stopping = Date.now();
    const code = await s.up.stop();
    console.log(`# cove up stopped in ${Date.now() - stopping} ms: ${s.up.stderr().match(/cove up: stopped.*/)?.[0]}`);
    assert.equal(code, 0, `clean exit on SIGTERM:\n${s.up.stderr()}`);
    const stopped = s.up;
    await s.startAgain();
    assert.equal(s.up.apiKey, s.keys[0], "same key after a restart");
    const back = await Sandbox.connect(sbx.sandboxId, s.opts()).catch((err: unknown) =>
      assert.fail(`${sbx.sandboxId}: ${String(err)}\ncove up before the restart:\n${stopped.stderr()}\nafter:\n${s.up.stderr()}`),
    );
    assert.equal((await back.getInfo()).state, "running");
    assert.equal(await back.files.read("/home/user/keep.txt"), "kept");
    assert.ok(
      (await back.commands.list()).some((p) => p.pid === bg.pid),
      "the background process survived",
    );
    assert.equal((await back.commands.run("echo after")).stdout, "after\n");
    await back.kill();
  });
});
