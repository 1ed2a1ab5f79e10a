// The node's template store on a temp dir: tags as manifests per tag, owners, public templates,
// and what create and builds may resolve. (The SDK's view of the same: test/e2e/sdk-templates.)
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { TemplateManifest } from "../src/templates/base-template.js";
import { createTemplateStore } from "../src/templates/template-store.js";

const manifest = (buildId: string, owner?: string): TemplateManifest => ({
  name: "app",
  ...(owner ? { owner } : {}),
  buildId,
  recipe: 1,
  builtAt: `2030-01-0${buildId.length % 9}T00:00:00.000Z`,
  rootfs: "/layers/root",
  layers: [`/layers/${buildId}`],
  defaults: { user: "user", workdir: "/home/user", env: {}, cpuCount: 1, memoryMB: 256, diskMB: 1024 },
});

describe("template store", () => {
  const dir = mkdtempSync("/tmp/cove-template-store-");
  after(() => rmSync(dir, { recursive: true, force: true }));
  const store = createTemplateStore(dir);
  const id1 = "11111111-1111-4111-8111-111111111111";
  const id2 = "22222222-2222-4222-8222-222222222222";

  it("a bare name is the default tag; name:tag and name:<build id> reach other builds", async () => {
    await store.write(manifest(id1, "team-a"), ["default"]);
    await store.write(manifest(id2, "team-a"), ["v2"]);
    assert.equal((await store.resolve("app", "team-a")).manifest.buildId, id1);
    assert.equal((await store.resolve("app:default", "team-a")).manifest.buildId, id1);
    assert.equal((await store.resolve("app:v2", "team-a")).manifest.buildId, id2);
    assert.equal((await store.resolve(`app:${id2}`, "team-a")).ref, `app:${id2}`);
    assert.equal((await store.resolve(`app:${id2}`, "team-a")).manifest.buildId, id2);
    await assert.rejects(store.resolve("app:nope", "team-a"), /not found/);
    await assert.rejects(store.resolve("App", "team-a"), /invalid template/);
  });

  it("another team finds a private template nowhere, a public one everywhere; an operator's call sees all", async () => {
    await assert.rejects(store.resolve("app", "team-b"), /not found/);
    assert.equal((await store.resolve("app")).manifest.buildId, id1);
    await assert.rejects(store.setPublic("app", true, "team-b"), /not found/);
    await store.setPublic("app", true, "team-a");
    assert.equal((await store.resolve("app:v2", "team-b")).manifest.buildId, id2);
    assert.equal((await store.entries())[0]?.public, true);
    await store.setPublic("app", false, "team-a");
    await assert.rejects(store.resolve("app", "team-b"), /not found/);
  });

  it("assigns tags to the build a tag points at, lists them, and removes them (the last one removes the template)", async () => {
    assert.equal(await store.assignTags("app:v2", ["stable", "prod"], "team-a"), id2);
    await assert.rejects(store.assignTags("app:v2", ["x"], "team-b"), /not found/);
    await assert.rejects(store.assignTags("app:v2", ["bad tag"], "team-a"), /invalid tag/);
    const [entry] = await store.entries();
    assert.deepEqual(
      entry?.tags.map((t) => [t.tag, t.manifest.buildId]),
      [
        ["default", id1],
        ["prod", id2],
        ["stable", id2],
        ["v2", id2],
      ],
    );
    assert.equal(entry?.owner, "team-a");
    assert.equal((await store.list()).length, 4, "every tag's manifest, for layer collection");
    await assert.rejects(store.removeTags("app", ["nope"], "team-a"), /no tag 'nope'/);
    await store.removeTags("app", ["default", "v2", "prod"], "team-a");
    await assert.rejects(store.resolve("app", "team-a"), /it has tags stable: create from app:stable/);
    assert.equal(await store.ownerOf("app"), "team-a");
    await store.removeTags("app", ["stable"], "team-a");
    assert.equal(existsSync(join(dir, "app")), false);
    assert.equal(await store.ownerOf("app"), undefined);
  });

  it("deletes a template with all its tags, only for its owner; base never", async () => {
    await store.write(manifest(id1, "team-a"), ["default", "v1"]);
    await assert.rejects(store.remove("app", "team-b"), /not found/);
    await store.remove("app", "team-a");
    assert.deepEqual(await store.entries(), []);
    await assert.rejects(store.remove("base"), /cannot be deleted/);
  });

  it("a template with its own files (code-interpreter-v1) resolves its relative layers in its dir, answers to its alias, and is moved aside on delete", async () => {
    const own: TemplateManifest = { ...manifest(id1), name: "code-interpreter-v1", rootfs: "rootfs", layers: ["layers/packages", "layers/server"] };
    await store.write(own, ["default"]);
    const t = await store.resolve("code-interpreter");
    assert.equal(t.manifest.name, "code-interpreter-v1");
    assert.equal(t.rootfs, join(dir, "code-interpreter-v1", "rootfs"));
    assert.deepEqual(t.layers, [join(dir, "code-interpreter-v1", "layers/packages"), join(dir, "code-interpreter-v1", "layers/server")]);
    await store.remove("code-interpreter-v1");
    assert.equal(existsSync(join(dir, "code-interpreter-v1")), false);
    assert.ok(
      readdirSync(dir).some((n) => n.startsWith(".deleted-code-interpreter-v1-")),
      "kept aside for the sandboxes that still run from it",
    );
    await assert.rejects(store.resolve("code-interpreter"), /not found/);
  });

  it("deleting a template of immutable builds removes its manifests and leaves the builds to collection", async () => {
    const dirOf = join(dir, "code-interpreter-v1");
    mkdirSync(join(dirOf, "builds", "b1", "rootfs"), { recursive: true });
    await store.write({ ...manifest(id1), name: "code-interpreter-v1", rootfs: "builds/b1/rootfs", layers: ["builds/b1/server"] }, ["default"]);
    assert.equal((await store.resolve("code-interpreter-v1")).rootfs, join(dirOf, "builds/b1/rootfs"));
    await store.remove("code-interpreter-v1");
    await assert.rejects(store.resolve("code-interpreter-v1"), /not found/);
    assert.ok(existsSync(join(dirOf, "builds", "b1", "rootfs")), "a sandbox may still run from it");
    assert.deepEqual(
      (await store.entries()).map((e) => e.name),
      [],
    );
    rmSync(dirOf, { recursive: true });
  });

  it("a team's own template named like an alias is that template", async () => {
    await store.write({ ...manifest(id2, "team-a"), name: "code-interpreter" }, ["default"]);
    assert.equal((await store.resolve("code-interpreter", "team-a")).manifest.name, "code-interpreter");
    await store.remove("code-interpreter", "team-a");
  });
});
