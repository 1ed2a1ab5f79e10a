// `cove template build DIR --name N`: a Dockerfile parsed by the CLI, its COPY files uploaded to a
// real node, the build run there in real sandboxes with its log printed, and a sandbox from the
// result showing every instruction's effect. Refusals come before anything is sent.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { connectSdk, skipReason, startTestNode, type TestNode } from "../../node/test/helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const cove = join(import.meta.dirname, "../bin/cove.js");
const reason = skipReason();

describe("cove template build --name (Dockerfile)", { skip: reason, timeout: 900_000 }, () => {
  let t: TestNode;
  let ctx = "";
  const name = `cli-df-${Date.now().toString(36)}`;

  before(async () => {
    t = await startTestNode(suiteNetwork("cli/template-dockerfile"));
    ctx = mkdtempSync("/var/tmp/cove-cli-dockerfile-");
    mkdirSync(join(ctx, "bin"));
    writeFileSync(join(ctx, "bin", "hello"), "#!/bin/sh\necho hello from the template\n");
    chmodSync(join(ctx, "bin", "hello"), 0o755);
    writeFileSync(join(ctx, "secret.env"), "TOKEN=do-not-ship\n");
    writeFileSync(join(ctx, ".dockerignore"), "secret.env\n");
    writeFileSync(
      join(ctx, "Dockerfile"),
      [
        "FROM e2bdev/base",
        "ARG GREETING=hi",
        "ENV APP_HOME=/srv/app \\",
        "    PATH=/srv/app/bin:$PATH",
        "WORKDIR /srv/app",
        "COPY bin/ bin/",
        "COPY . /srv/ctx/",
        'RUN echo "$GREETING from $(id -un)" > greeting',
        "LABEL purpose=test",
        "USER user",
        'CMD ["sh", "-c", "echo started > /tmp/cmd-ran; exec sleep 600"]',
        "",
      ].join("\n"),
    );
  });

  after(async () => {
    rmSync(join(t.config.templatesDir, name), { recursive: true, force: true });
    await t?.close();
    rmSync(ctx, { recursive: true, force: true });
  });

  async function runCove(args: string[]) {
    const env = { ...process.env, COVE_NODE_SECRET: t.node.secret, COVE_NODE_URL: `http://${t.node.address.host}:${t.node.address.port}` };
    const child = spawn(process.execPath, [cove, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c));
    child.stderr.on("data", (c: Buffer) => (stderr += c));
    const [code] = (await once(child, "exit")) as [number | null];
    return { code, stdout, stderr };
  }

  it("builds a Dockerfile on the node with live logs, and a sandbox from it has it all", async () => {
    const r = await runCove(["template", "build", ctx, "--name", name, "--build-arg", "GREETING=howdy"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^template ${name}: built in [0-9.]+ s \\(\\d+ steps, 0 cached; build [0-9a-f-]{36}\\)$`, "m"));
    assert.match(r.stderr, /warning: Dockerfile:9: LABEL/);
    assert.match(r.stderr, /\[\d+\/\d+\] RUN echo "\$GREETING from \$\(id -un\)" > greeting/);

    const info = await t.node.manager.create({ templateId: name, timeoutMs: 120_000 });
    const sdk = await connectSdk(info);
    try {
      const out = await sdk.sandbox.commands.run("whoami; pwd; hello; cat greeting; ls /srv/ctx; echo $APP_HOME");
      assert.equal(out.stdout, "user\n/srv/app\nhello from the template\nhowdy from root\nDockerfile\nbin\n/srv/app\n");
      let ran = "";
      for (let i = 0; i < 50 && ran === ""; i++) {
        ran = (await sdk.sandbox.commands.run("cat /tmp/cmd-ran 2>/dev/null || true")).stdout;
        if (ran === "") await sleep(100);
      }
      assert.equal(ran, "started\n", "CMD is the template's start command");
    } finally {
      await sdk.close();
      await t.node.manager.kill(info.sandboxId);
    }

    const again = await runCove(["template", "build", ctx, "--name", name, "--build-arg", "GREETING=howdy"]);
    assert.equal(again.code, 0, again.stderr);
    const [, steps, cached] = /\((\d+) steps, (\d+) cached; build ([0-9a-f-]+)\)/.exec(again.stdout) ?? [];
    assert.equal(cached, steps, "an unchanged rebuild is all cache hits");

    // Both builds are on record, newest first, with their logs.
    const buildId = /build ([0-9a-f-]{36})\)/.exec(r.stdout)?.[1] ?? "";
    const listed = await runCove(["template", "builds", name, "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const builds = JSON.parse(listed.stdout) as { buildId: string; status: string; tags: string[] }[];
    assert.equal(builds.length, 2);
    assert.equal(builds[1]?.buildId, buildId);
    assert.deepEqual(
      builds.map((b) => [b.status, b.tags]),
      [
        ["ready", ["default"]],
        ["ready", ["default"]],
      ],
    );
    const logs = await runCove(["template", "logs", buildId]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /RUN echo "\$GREETING from \$\(id -un\)" > greeting/);
    assert.match(logs.stdout, new RegExp(`^build ${buildId} \\(${name}\\): ready$`, "m"));
    assert.notEqual((await runCove(["template", "logs", "no-such-build"])).code, 0);
  });

  it("refuses what it cannot build, naming the line, before sending anything", async () => {
    const bad = mkdtempSync("/var/tmp/cove-cli-dockerfile-bad-");
    try {
      writeFileSync(join(bad, "Dockerfile"), "FROM base\nRUN true\nHEALTHCHECK CMD curl -f http://localhost/\n");
      const r = await runCove(["template", "build", bad, "--name", `${name}-bad`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /Dockerfile:3: HEALTHCHECK/);
      // Loopback only: a registry that is not there is a clear build error, not a hang.
      writeFileSync(join(bad, "Dockerfile"), "FROM 127.0.0.1:9/nothing/here:1\nRUN true\n");
      const img = await runCove(["template", "build", bad, "--name", `${name}-bad`]);
      assert.equal(img.code, 1);
      assert.match(img.stderr, /build of .* failed \(step base\): .*127\.0\.0\.1:9/);
      const step = await runCove(["template", "build", bad, "--name", "Bad Name"]);
      assert.equal(step.code, 1);
      assert.match(step.stderr, /--name Bad Name/);
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
