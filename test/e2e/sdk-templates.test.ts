// The e2b SDK's Template() builder, unmodified, against `cove up`: Template.build with COPY
// (through the signed upload link), RUN, ENV, WORKDIR, USER and a start + ready command; live
// build logs; a sandbox from the result; a cached rebuild; a failing step; exists(); private
// and public templates; tags (name:tag builds, assignTags, getTags, removeTags).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { BuildError, Sandbox, Template, waitForFile } from "e2b";
import { type CoveUp, killLeftovers, repoRoot, startCoveUp, testTemplatesDir } from "./helpers/cove-up.js";
import { removeDataDir } from "../support/data-dirs.js";
import { suiteNetwork } from "../support/networks.js";

const network = suiteNetwork("e2e/sdk-templates");
const run = promisify(execFile);

describe("templates through the e2b SDK (cove up)", { timeout: 900_000 }, () => {
  let up: CoveUp;
  let dataDir = "";
  let context = "";
  const name = `sdk-tpl-${Date.now().toString(36)}`;
  const made: string[] = [];
  const opts = () => ({ apiKey: up.apiKey, apiUrl: up.url, sandboxUrl: up.url, requestTimeoutMs: 60_000 });

  before(async () => {
    dataDir = mkdtempSync("/var/tmp/cove-cme-");
    context = mkdtempSync("/var/tmp/cove-cme-ctx-");
    writeFileSync(join(context, "hello.txt"), "hello from the context\n");
    up = await startCoveUp({ dataDir, ...network, args: ["--pool-size", "0"] });
  });

  after(async () => {
    for (const id of made) await Sandbox.kill(id, opts()).catch(() => false);
    const code = await up?.stop();
    if (code !== 0) process.stderr.write(`cove up exited ${code}:\n${up?.stderr()}\n`);
    await killLeftovers({ dataDir, ...network, args: ["--pool-size", "0"] });
    rmSync(join(testTemplatesDir, name), { recursive: true, force: true });
    await removeDataDir(dataDir);
    rmSync(context, { recursive: true, force: true });
  });

  const template = () =>
    Template({ fileContextPath: context })
      .fromTemplate("base")
      .copy("hello.txt", "/opt/app/hello.txt")
      .runCmd("echo built-by-$(whoami) > /opt/app/built", { user: "root" })
      .setEnvs({ APP_MODE: "test" })
      .setWorkdir("/opt/app")
      .setStartCmd("sleep 1; touch /tmp/app-ready; sleep 3600", waitForFile("/tmp/app-ready"));

  it("builds with the SDK, streams the log, and a sandbox from it has every step", async () => {
    const lines: string[] = [];
    await Template.build(template(), name, { ...opts(), onBuildLogs: (e) => lines.push(e.message) });
    assert.ok(
      lines.some((l) => /\[\d+\/\d+\] RUN echo built-by/.test(l)),
      lines.join("\n"),
    );
    assert.equal(await Template.exists(name, opts()), true);

    const sbx = await Sandbox.create(name, opts());
    made.push(sbx.sandboxId);
    const out = await sbx.commands.run("cat hello.txt built; pwd; echo $APP_MODE; test -f /tmp/app-ready && echo ready");
    assert.equal(out.stdout, "hello from the context\nbuilt-by-root\n/opt/app\ntest\nready\n");
    await sbx.kill();
  });

  it("a rebuild with nothing changed comes from the cache", async () => {
    const lines: string[] = [];
    await Template.build(template(), name, { ...opts(), onBuildLogs: (e) => lines.push(e.message) });
    const steps = lines.filter((l) => /^(CACHED )?\[\d+\/\d+\]/.test(l));
    assert.ok(steps.length > 0 && steps.every((l) => l.startsWith("CACHED")), lines.join("\n"));
  });

  it("another team can neither replace nor delete it", async () => {
    const res = await fetch(`${up.url}/v1/teams`, {
      method: "POST",
      headers: { "x-api-key": up.apiKey, "content-type": "application/json" },
      body: JSON.stringify({ name: "cme-other" }),
    });
    assert.equal(res.status, 201);
    const other = { ...opts(), apiKey: ((await res.json()) as { apiKey: string }).apiKey };
    await assert.rejects(Template.build(Template().fromTemplate("base").runCmd("echo mine"), name, other), (err: unknown) => {
      assert.ok(err instanceof BuildError, String(err));
      assert.match(err.message, /is taken/);
      return true;
    });
    assert.equal((await fetch(`${up.url}/templates/${name}`, { method: "DELETE", headers: { "x-api-key": other.apiKey } })).status, 404);
    const sbx = await Sandbox.create(name, opts());
    made.push(sbx.sandboxId);
    assert.equal((await sbx.commands.run("cat hello.txt")).stdout, "hello from the context\n", "the owner's template is unchanged");
    await sbx.kill();

    // Private until published: the other team cannot start it, and exists() says the name is taken.
    await assert.rejects(Sandbox.create(name, other), /not found/);
    assert.equal(await Template.exists(name, other), true);
    const patch = (apiKey: string, body: unknown) =>
      fetch(`${up.url}/v2/templates/${name}`, {
        method: "PATCH",
        headers: { "x-api-key": apiKey, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    assert.equal((await patch(other.apiKey, { public: true })).status, 404, "only the owner publishes");
    assert.equal((await patch(up.apiKey, { public: true })).status, 200);
    const shared = await Sandbox.create(name, other);
    made.push(shared.sandboxId);
    assert.equal((await shared.commands.run("cat hello.txt")).stdout, "hello from the context\n");
    await shared.kill();
    assert.equal((await patch(up.apiKey, { public: false })).status, 200);
    await assert.rejects(Sandbox.create(name, other), /not found/);
  });

  it("tags: a build under name:tag leaves the default alone; assign, list and remove tags", async () => {
    const v2 = Template().fromTemplate("base").runCmd("echo v2 > /tmp/which");
    const info = await Template.build(v2, `${name}:v2`, opts());
    const tagged = await Sandbox.create(`${name}:v2`, opts());
    made.push(tagged.sandboxId);
    assert.equal((await tagged.commands.run("cat /tmp/which")).stdout, "v2\n");
    await tagged.kill();
    const plain = await Sandbox.create(name, opts());
    made.push(plain.sandboxId);
    assert.equal((await plain.commands.run("cat hello.txt")).stdout, "hello from the context\n", "name alone is still the default build");
    await plain.kill();

    const assigned = await Template.assignTags(`${name}:v2`, ["stable"], opts());
    assert.equal(assigned.buildId, info.buildId);
    const tags = await Template.getTags(name, opts());
    assert.deepEqual(tags.map((t) => t.tag).sort(), ["default", "stable", "v2"]);
    assert.equal(tags.find((t) => t.tag === "stable")?.buildId, info.buildId);
    assert.ok(tags.every((t) => t.createdAt instanceof Date && !Number.isNaN(t.createdAt.getTime())));

    await Template.removeTags(name, ["v2"], opts());
    await assert.rejects(Sandbox.create(`${name}:v2`, opts()), /not found/);
    const stable = await Sandbox.create(`${name}:stable`, opts());
    made.push(stable.sandboxId);
    assert.equal((await stable.commands.run("cat /tmp/which")).stdout, "v2\n");
    await stable.kill();
    await assert.rejects(Template.removeTags(name, ["no-such-tag"], opts()));
  });

  it("a failing step fails the build with the step's output", async () => {
    const failing = Template().fromTemplate("base").runCmd("echo nearly; exit 7");
    await assert.rejects(Template.build(failing, `${name}-fail`, opts()), (err: unknown) => {
      assert.ok(err instanceof BuildError, String(err));
      assert.match(err.message, /exited with code 7/);
      return true;
    });
    // A command envd will not start, worded as E2B words it (its SDK's own tests match on this).
    const nobody = Template().fromTemplate("base").skipCache().runCmd("whoami", { user: "root123" });
    await assert.rejects(Template.build(nobody, `${name}-fail`, opts()), (err: unknown) => {
      assert.ok(err instanceof BuildError, String(err));
      assert.match(err.message, /failed to run command 'whoami': command failed: unauthenticated: invalid username: 'root123'/);
      return true;
    });
    rmSync(join(testTemplatesDir, `${name}-fail`), { recursive: true, force: true });
  });

  it("cove template delete: new creates fail, a sandbox already running from it keeps its files", async () => {
    const running = await Sandbox.create(name, opts());
    made.push(running.sandboxId);
    const env = { ...process.env, E2B_API_URL: up.url, E2B_API_KEY: up.apiKey };
    const { stdout } = await run(process.execPath, ["packages/cli/bin/cove.js", "template", "delete", name], { cwd: repoRoot, env });
    assert.equal(stdout, `template ${name}: deleted\n`);
    await assert.rejects(Sandbox.create(name, opts()));
    assert.equal((await running.commands.run("cat hello.txt")).stdout, "hello from the context\n");
    const headers = { "x-api-key": up.apiKey };
    assert.equal((await fetch(`${up.url}/templates/${name}`, { method: "DELETE", headers })).status, 404);
    assert.equal((await fetch(`${up.url}/templates/base`, { method: "DELETE", headers })).status, 400);
    await running.kill();
  });
});
