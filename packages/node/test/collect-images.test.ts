// Collection of the pulled-image cache on a temp dir: an unpacked image layer goes once no
// template and no sandbox stacks it and it is past the cache window; blobs go past the window.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createDiskLayerStore } from "@cove/builder";
import { collectLayers } from "../src/builds/collect-layers.js";
import { createTemplateStore } from "../src/templates/template-store.js";

describe("image cache collection", () => {
  const dir = mkdtempSync("/tmp/cove-collect-images-");
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("removes unused old image layers and old blobs; keeps what templates, sandboxes or the window hold", async () => {
    const images = join(dir, "images");
    const layer = (hex: string, ageHours: number) => {
      const p = join(images, "layers/sha256", hex);
      mkdirSync(join(p, "etc"), { recursive: true });
      const t = new Date(Date.now() - ageHours * 3_600_000);
      utimesSync(p, t, t);
      return p;
    };
    const blob = (hex: string, ageHours: number) => {
      const p = join(images, "blobs/sha256", hex);
      mkdirSync(join(images, "blobs/sha256"), { recursive: true });
      writeFileSync(p, "x");
      const t = new Date(Date.now() - ageHours * 3_600_000);
      utimesSync(p, t, t);
      return p;
    };
    const byTemplate = layer("a".repeat(64), 48);
    const bySandbox = layer("b".repeat(64), 48);
    const unused = layer("c".repeat(64), 48);
    const recent = layer("d".repeat(64), 1);
    const oldBlob = blob("e".repeat(64), 48);
    const newBlob = blob("f".repeat(64), 1);
    const templates = createTemplateStore(join(dir, "templates"));
    await templates.write(
      {
        name: "from-image",
        recipe: 1,
        builtAt: new Date().toISOString(),
        rootfs: byTemplate,
        defaults: { user: "user", workdir: "/home/user", env: {}, cpuCount: 1, memoryMB: 256, diskMB: 1024 },
      },
      ["default"],
    );
    const removed = await collectLayers({
      layers: await createDiskLayerStore(join(dir, "layers")),
      templates,
      sandboxLowerDirs: async () => [bySandbox],
      keepMs: 24 * 3_600_000,
      imagesDir: images,
    });
    assert.deepEqual(removed.sort(), [`image blob sha256:${"e".repeat(64)}`, `image layer sha256:${"c".repeat(64)}`]);
    assert.deepEqual(
      [byTemplate, bySandbox, unused, recent, oldBlob, newBlob].map((p) => existsSync(p)),
      [true, true, false, true, false, true],
    );
  });

  it("removes a built-in template's builds once neither a tag nor a sandbox uses them; leaves builds in progress", async () => {
    const templatesDir = join(dir, "tpl");
    const t = join(templatesDir, "code-interpreter-v1");
    const build = (id: string, ageHours = 0) => {
      const p = join(t, "builds", id);
      for (const sub of ["rootfs/etc", "packages/usr", "server/opt"]) mkdirSync(join(p, sub), { recursive: true });
      const when = new Date(Date.now() - ageHours * 3_600_000);
      utimesSync(p, when, when);
      return p;
    };
    const current = build("b3", 48);
    const reused = build("b2", 48); // the current build stacks its rootfs and packages
    const runningSandbox = build("b1", 48);
    const replaced = build("b0", 48);
    const justMade = build("b5"); // a CLI build switching the manifest to it right now
    const inProgress = build(".tmp-b4");
    const abandoned = build(".tmp-old", 48);
    const templates = createTemplateStore(templatesDir);
    await templates.write(
      {
        name: "code-interpreter-v1",
        recipe: 1,
        builtAt: new Date().toISOString(),
        rootfs: "builds/b2/rootfs",
        layers: ["builds/b2/packages", "builds/b3/server"],
        defaults: { user: "user", workdir: "/home/user", env: {}, cpuCount: 1, memoryMB: 256, diskMB: 1024 },
      },
      ["default"],
    );
    const removed = await collectLayers({
      layers: await createDiskLayerStore(join(dir, "layers2")),
      templates,
      sandboxLowerDirs: async () => [join(runningSandbox, "rootfs"), join(runningSandbox, "server")],
      keepMs: 0,
      templatesDir,
    });
    assert.deepEqual(removed.sort(), ["template build code-interpreter-v1/.tmp-old", "template build code-interpreter-v1/b0"]);
    // A deleted template (manifest gone) goes with its last unused build.
    const gone = join(templatesDir, "deleted-one");
    mkdirSync(join(gone, "builds", "x", "rootfs"), { recursive: true });
    const old = new Date(Date.now() - 48 * 3_600_000);
    utimesSync(join(gone, "builds", "x"), old, old);
    const again = await collectLayers({
      layers: await createDiskLayerStore(join(dir, "layers2")),
      templates,
      sandboxLowerDirs: async () => [join(runningSandbox, "rootfs")],
      keepMs: 0,
      templatesDir,
    });
    assert.deepEqual(again.sort(), ["template build deleted-one/x", "template deleted-one"]);
    assert.equal(existsSync(gone), false);
    assert.deepEqual(
      [current, reused, runningSandbox, replaced, justMade, inProgress, abandoned].map((p) => existsSync(p)),
      [true, true, true, false, true, true, false],
    );
  });
});
