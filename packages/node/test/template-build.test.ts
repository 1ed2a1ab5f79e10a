// Template builds on a real node: every step runs in a real crun sandbox over the layers below
// it, each step's changes become a layer (ids shifted back, deletions as whiteouts), and a
// sandbox created from the result sees all of it. Cache hits, a partial rebuild, a failing
// step, the start/ready check, and no build sandbox left behind.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BuildLogEntry, type BuildSpec, type BuildStep, BuildStepError } from "@cove/builder";
import type { BuildTemplateResponse } from "@cove/protocol/nodeapi";
import { createNodeClient } from "@cove/protocol/nodeapi-client";
import { connectSdk, skipReason, startTestNode, type TestNode } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason = skipReason();
if (reason) console.log(`# template-build: skipped: ${reason}`);

const FAKE_CA = "-----BEGIN CERTIFICATE-----\nY292ZSB0ZXN0IGNh\n-----END CERTIFICATE-----\n";
const run = (cmd: string, user?: string): BuildStep => ({ type: "RUN", args: user ? [cmd, user] : [cmd], force: false });

describe("template builds on a node", { skip: reason, timeout: 900_000 }, () => {
  let t: TestNode;
  let work = "";
  const name = `test-build-${randomBytes(3).toString("hex")}`;

  before(async () => {
    work = mkdtempSync("/var/tmp/cove-build-test-");
    // Stands for an operator's proxy CA: only its presence is checked, nothing parses it.
    writeFileSync(join(work, "extra-ca.pem"), FAKE_CA);
    t = await startTestNode({
      ...suiteNetwork("node/template-build"),
      env: { COVE_EXTRA_CA_CERTS: join(work, "extra-ca.pem"), COVE_BUILD_READY_TIMEOUT_SECONDS: "10" },
    });
  });

  after(async () => {
    rmSync(join(t.config.templatesDir, name), { recursive: true, force: true });
    await t?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** Uploads a gzipped tar of `files` (paths relative to a context dir) under a hash, as the SDK's COPY handshake would. */
  async function upload(files: Record<string, string>): Promise<string> {
    const ctx = mkdtempSync(join(work, "ctx-"));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(ctx, path, ".."), { recursive: true });
      writeFileSync(join(ctx, path), content);
    }
    const tar = join(work, `${randomBytes(4).toString("hex")}.tar.gz`);
    execFileSync("tar", ["-czf", tar, "-C", ctx, ...Object.keys(files)]);
    const hash = createHash("sha256").update(readFileSync(tar)).digest("hex");
    await t.node.builder.files.put(hash, createReadStream(tar));
    return hash;
  }

  async function build(spec: Partial<BuildSpec> & Pick<BuildSpec, "steps">) {
    const logs: BuildLogEntry[] = [];
    const running = (await t.node.sandboxRuntime.list()).length;
    try {
      const result = await t.node.builder.build({
        name,
        spec: { source: { kind: "template", template: "base" }, force: false, ...spec },
        onLog: (e) => logs.push(e),
      });
      return { result, logs };
    } finally {
      assert.equal((await t.node.sandboxRuntime.list()).length, running, "no build sandbox outlives its step");
    }
  }

  const files = () => upload({ "a.txt": "alpha\n", "sub/b.txt": "beta\n" });

  let filesHash = "";
  const steps = (): BuildStep[] => [
    run('echo built > /etc/built-by-run && rm /etc/debian_version && grep -c \'Y292ZSB0ZXN0IGNh\' "$SSL_CERT_FILE" "$NODE_EXTRA_CA_CERTS"', "root"),
    { type: "ENV", args: ["GREETING", "hello there"], force: false },
    { type: "WORKDIR", args: ["/app"], force: false },
    { type: "COPY", args: [".", "./", "", "0640"], force: false, filesHash },
    { type: "USER", args: ["guest"], force: false },
    run('echo "$GREETING from $(id -un) in $(pwd)" > /app/run-note 2>/dev/null || echo "$GREETING from $(id -un) in $(pwd)" > $HOME/run-note'),
  ];

  it("runs every step in a sandbox and a sandbox from the result sees all of it", async () => {
    filesHash = await files();
    const { result, logs } = await build({ steps: steps(), startCmd: "sleep 1; touch /tmp/started; sleep 600", readyCmd: "test -f /tmp/started" });
    assert.equal(result.cachedSteps, 0);
    assert.equal(result.manifest.defaults.user, "guest");
    assert.equal(result.manifest.defaults.workdir, "/app");
    assert.equal(result.manifest.defaults.env.GREETING, "hello there");
    assert.ok(
      logs.some((l) => l.message.startsWith("[1/6] RUN echo built > /etc/built-by-run && rm /etc/debian_version")),
      logs.map((l) => l.message).join("\n"),
    );
    // The operator's CA is in the system bundle and the Node bundle during the build's steps.
    assert.deepEqual(
      logs.filter((l) => l.step === "1" && /:1$/.test(l.message)).map((l) => l.message.replace(/^.*\//, "")),
      ["ca-certificates.crt:1", "cove-extra-ca.pem:1"],
    );
    const info = await t.node.manager.create({ templateId: name, timeoutMs: 120_000 });
    const sdk = await connectSdk(info);
    try {
      // No user: the template's default (the last USER), in its default workdir, as with E2B.
      const out = await sdk.sandbox.commands.run(
        "cat /etc/built-by-run; test -e /etc/debian_version && echo still-there; grep -c Y292ZSB0ZXN0IGNh /usr/local/share/ca-certificates/cove-extra-ca.crt $REQUESTS_CA_BUNDLE | wc -l; whoami; pwd; echo $GREETING; stat -c '%U %a' a.txt sub sub/b.txt; cat $HOME/run-note; test -f /tmp/started && echo started-before-create-returned",
      );
      assert.equal(
        out.stdout,
        "built\n2\nguest\n/app\nhello there\nuser 640\nuser 755\nuser 640\nhello there from guest in /app\nstarted-before-create-returned\n",
      );
      const asRoot = await sdk.sandbox.commands.run("cat /app/a.txt /app/sub/b.txt", { user: "root" });
      assert.equal(asRoot.stdout, "alpha\nbeta\n");
    } finally {
      await sdk.close();
      await t.node.manager.kill(info.sandboxId);
    }
  });

  it("a template built from it keeps its start and ready commands unless it sets its own", async () => {
    const child = `${name}-child`;
    try {
      const inherit = await t.node.builder.build({
        name: child,
        spec: { source: { kind: "template", template: name }, force: false, steps: [run("true")] },
        onLog: () => undefined,
      });
      assert.equal(inherit.manifest.startCmd, "sleep 1; touch /tmp/started; sleep 600");
      assert.equal(inherit.manifest.readyCmd, "test -f /tmp/started");
      const own = await t.node.builder.build({
        name: child,
        spec: { source: { kind: "template", template: name }, force: false, steps: [run("true")], startCmd: "sleep 600" },
        onLog: () => undefined,
      });
      assert.equal(own.manifest.startCmd, "sleep 600");
      assert.equal(own.manifest.readyCmd, undefined);
    } finally {
      rmSync(join(t.config.templatesDir, child), { recursive: true, force: true });
    }
  });

  it("an unchanged rebuild reuses every layer; changing the last step runs only that one", async () => {
    const again = await build({ steps: steps() });
    assert.equal(again.result.cachedSteps, 6);
    const changed = steps();
    changed[5] = run("echo changed > $HOME/changed");
    const partial = await build({ steps: changed });
    assert.equal(partial.result.cachedSteps, 5);
    assert.deepEqual(partial.result.manifest.layers?.slice(0, -1), again.result.manifest.layers?.slice(0, -1));
  });

  it("a failing step fails the build with its number and output; the template stays as it was", async () => {
    const before = readFileSync(join(t.config.templatesDir, name, "template.json"), "utf8");
    const err = await build({ steps: [...steps(), run("echo about to fail; exit 7")] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BuildStepError, String(err));
    assert.equal(err.step, "7");
    assert.match(err.message, /exited with code 7/);
    assert.deepEqual(err.tail, ["about to fail"]);
    assert.equal(readFileSync(join(t.config.templatesDir, name, "template.json"), "utf8"), before);
  });

  it("a step's writes are capped by its sandbox's disk, not the host's", async () => {
    const logs: BuildLogEntry[] = [];
    const err = await t.node.builder
      .build({
        name: `${name}-full`,
        diskMB: 128,
        spec: { source: { kind: "template", template: "base" }, force: false, steps: [run("head -c 300M /dev/zero > /big; echo wrote=$?; exit 1", "root")] },
        onLog: (e) => logs.push(e),
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof BuildStepError && err.step === "1", String(err));
    assert.ok(
      logs.some((l) => /No space left on device/.test(l.message)),
      logs.map((l) => l.message).join("\n"),
    );
  });

  it("two builds at once each get their own steps, layers and template", async () => {
    const names = [`${name}-a`, `${name}-b`];
    try {
      const built = await Promise.all(
        names.map((n) =>
          t.node.builder.build({
            name: n,
            spec: { source: { kind: "template", template: "base" }, force: false, steps: [run(`echo ${n} > /etc/which`, "root"), run("sleep 1")] },
            onLog: () => undefined,
          }),
        ),
      );
      assert.notDeepEqual(built[0]?.manifest.layers, built[1]?.manifest.layers);
      for (const n of names) {
        const info = await t.node.manager.create({ templateId: n, timeoutMs: 60_000 });
        const sdk = await connectSdk(info);
        try {
          assert.equal((await sdk.sandbox.commands.run("cat /etc/which")).stdout, `${n}\n`);
        } finally {
          await sdk.close();
          await t.node.manager.kill(info.sandboxId);
        }
      }
    } finally {
      for (const n of names) rmSync(join(t.config.templatesDir, n), { recursive: true, force: true });
    }
  });

  it("a ready command that never passes fails the build at finalize", async () => {
    const err = await build({ steps: steps(), startCmd: "echo starting; sleep 600", readyCmd: "false" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BuildStepError && err.step === "finalize", String(err));
  });
});

describe("layers of deleted templates", { skip: reason, timeout: 600_000 }, () => {
  let t: TestNode;
  const name = `test-gc-${randomBytes(3).toString("hex")}`;
  before(async () => {
    // No cache window: what nothing uses goes at once.
    t = await startTestNode({ ...suiteNetwork("node/template-build-gc"), env: { COVE_LAYER_CACHE_HOURS: "0", COVE_EXTRA_CA_CERTS: "" } });
  });
  after(async () => {
    rmSync(join(t.config.templatesDir, name), { recursive: true, force: true });
    await t?.close();
  });

  it("stay while a sandbox runs from them and go once none does; base and other templates keep theirs", async () => {
    const built = await t.node.builder.build({
      name,
      spec: { source: { kind: "template", template: "base" }, steps: [run("echo gc > /gc-marker", "root")], force: false },
      onLog: () => undefined,
    });
    const layers = built.manifest.layers ?? [];
    assert.equal(layers.length, 1);
    const info = await t.node.manager.create({ templateId: name, timeoutMs: 120_000 });
    const client = createNodeClient({ baseUrl: `http://${t.node.address.host}:${t.node.address.port}`, secret: t.node.secret });
    await client.deleteTemplate({ templateId: name });
    await assert.rejects(t.node.manager.create({ templateId: name, timeoutMs: 60_000 }), /not found/);
    assert.ok(existsSync(layers[0] ?? ""), "a running sandbox keeps its layers");
    await t.node.manager.kill(info.sandboxId);
    assert.ok((await t.node.builder.collect()).length >= 1);
    assert.ok(!existsSync(layers[0] ?? ""), "collected once no sandbox uses it");
    assert.ok(existsSync(join(t.config.templatesDir, "base", "template.json")));
    await assert.rejects(client.deleteTemplate({ templateId: "base" }), /base cannot be deleted/);
    await assert.rejects(client.deleteTemplate({ templateId: name }), /not found/);
  });
});

describe("template builds through the node API", { skip: reason, timeout: 600_000 }, () => {
  let t: TestNode;
  const name = `test-rpc-${randomBytes(3).toString("hex")}`;
  before(async () => {
    t = await startTestNode(suiteNetwork("node/template-build-rpc"));
  });
  after(async () => {
    rmSync(join(t.config.templatesDir, name), { recursive: true, force: true });
    await t?.close();
  });

  const base = () => `http://${t.node.address.host}:${t.node.address.port}`;
  const put = (hash: string, body: Buffer, secret = t.node.secret) =>
    fetch(`${base()}/build-files/${hash}`, { method: "PUT", body: new Uint8Array(body), headers: { authorization: `Bearer ${secret}` } });

  it("takes the files over PUT /build-files, then streams the build's log and its result", async () => {
    const dir = mkdtempSync("/var/tmp/cove-build-rpc-");
    try {
      writeFileSync(join(dir, "hello.txt"), "hello\n");
      const tar = execFileSync("tar", ["-cf", "-", "-C", dir, "hello.txt"]);
      const hash = "c".repeat(64);
      assert.equal((await put(hash, tar, "wrong")).status, 401);
      assert.equal((await put("not-a-hash", tar)).status, 400);
      assert.equal((await put(hash, tar)).status, 204);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const client = createNodeClient({ baseUrl: base(), secret: t.node.secret });
    const events: BuildTemplateResponse["event"][] = [];
    const steps = [
      { type: "COPY", args: ["hello.txt", "/srv/", "", ""], force: false, filesHash: "c".repeat(64) },
      { type: "RUN", args: ["cat /srv/hello.txt"], force: false },
    ];
    const buildId = "0a0b0c0d-0000-4000-8000-000000000001";
    for await (const res of client.buildTemplate({ name, fromTemplate: "base", steps, tags: ["v1", "stable"], buildId })) events.push(res.event);
    const last = events.at(-1);
    assert.equal(last?.case, "done", JSON.stringify(last));
    assert.deepEqual(last?.value, { $typeName: "nodeapi.v1.BuildTemplateResult", name, steps: 2, cachedSteps: 0, buildId, tags: ["v1", "stable"] });
    const listed = (await client.listTemplates({})).templates.find((t) => t.templateId === name);
    assert.deepEqual(
      listed?.tags.map((t) => [t.tag, t.buildId]),
      [
        ["stable", buildId],
        ["v1", buildId],
      ],
    );
    const lines = events.flatMap((e) => (e.case === "log" ? [e.value] : []));
    assert.ok(
      lines.some((l) => l.message === "hello" && l.step === "2" && l.level === "info"),
      "a step's output arrives in the log with its step",
    );
    assert.ok(lines.every((l) => l.timestamp !== undefined));

    const failed: BuildTemplateResponse["event"][] = [];
    for await (const res of client.buildTemplate({
      name,
      fromTemplate: "base",
      steps: [...steps, { type: "RUN", args: ["echo nope >&2; exit 3"], force: false }],
    }))
      failed.push(res.event);
    const end = failed.at(-1);
    assert.equal(end?.case, "failed");
    assert.equal(end?.value.step, "3");
    assert.equal(end?.value.code, "step_failed");
    assert.deepEqual(end?.value.tail, ["nope"]);
    assert.equal(failed.filter((e) => e.case === "log" && e.value.message.startsWith("CACHED")).length, 2, "the unchanged steps came from the cache");
  });

  it("refuses an unknown source template as not found", async () => {
    const client = createNodeClient({ baseUrl: base(), secret: t.node.secret });
    const events: BuildTemplateResponse["event"][] = [];
    for await (const res of client.buildTemplate({ name, fromTemplate: "no-such-template", steps: [] })) events.push(res.event);
    const last = events.at(-1);
    assert.equal(last?.case, "failed");
    assert.equal(last.value.code, "not_found");
  });
});
