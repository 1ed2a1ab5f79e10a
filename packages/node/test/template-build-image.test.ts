// Template builds FROM an image in a real registry (Debian's docker-registry on loopback, started
// here): the node pulls and unpacks it, provisions it as E2B does (user `user`, /tmp), runs the
// steps on it in build sandboxes, and a sandbox from the result runs on the image's own files
// (busybox, no bash). Needs root and /usr/bin/docker-registry.
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { type BuildLogEntry, BuildStepError, hostPlatform } from "@cove/builder";
import { execInSandbox } from "../src/sandbox/envd-exec.js";
import { pushImage, registryBinary, sha256, startRegistry, type TestRegistry } from "../../builder/test/helpers/registry.js";
import { buildTar, type RawEntry } from "../../builder/test/helpers/tar-writer.js";
import { skipReason, startTestNode, type TestNode } from "./helpers/node-fixture.js";
import { suiteNetwork } from "../../../test/support/networks.js";

const reason =
  skipReason() ??
  (existsSync(registryBinary) ? undefined : `${registryBinary} is missing (scripts/install-deps.sh installs it)`) ??
  (existsSync("/bin/busybox") ? undefined : "/bin/busybox is missing (busybox-static)");
if (reason) console.log(`# template-build-image: skipped: ${reason}`);

function layer(entries: RawEntry[]) {
  const tar = buildTar(entries);
  return { compressed: gzipSync(tar), diffId: sha256(tar) };
}

/** A busybox rootfs in two layers, the second deleting a file of the first. */
function busyboxImage() {
  const applets = ["sh", "cat", "id", "echo", "ls", "mkdir", "chown", "chmod", "test", "tail", "sleep", "env", "touch", "rm"];
  const base: RawEntry[] = [
    { path: "bin/", type: "5", mode: 0o755 },
    { path: "bin/busybox", content: readFileSync("/bin/busybox"), mode: 0o755 },
    ...applets.map((a): RawEntry => ({ path: `bin/${a}`, type: "2", linkpath: "busybox" })),
    { path: "etc/", type: "5", mode: 0o755 },
    { path: "etc/passwd", content: "root:x:0:0:root:/root:/bin/sh\n" },
    { path: "etc/group", content: "root:x:0:\n" },
    { path: "etc/shadow", content: "root:*:19000:0:99999:7:::\n", mode: 0o640 },
    { path: "etc/from-image", content: "layer one\n" },
    { path: "etc/gone", content: "removed by layer two\n" },
    { path: "root/", type: "5", mode: 0o700 },
  ];
  const top: RawEntry[] = [{ path: "etc/.wh.gone" }, { path: "etc/from-image", content: "layer two\n" }];
  return [layer(base), layer(top)];
}

describe("template builds from a registry image", { skip: reason, timeout: 600_000 }, () => {
  let registry: TestRegistry;
  let t: TestNode;
  const name = `test-image-${Date.now().toString(36)}`;

  before(async () => {
    registry = await startRegistry();
    await pushImage({ url: registry.url, repository: "cove/busybox" }, "1", {
      layers: busyboxImage(),
      config: { Env: ["PATH=/bin", "FROM_IMAGE=yes"], Cmd: ["sh"] },
      architecture: hostPlatform().architecture,
    });
    t = await startTestNode({ ...suiteNetwork("node/template-build-image"), env: { COVE_INSECURE_REGISTRIES: registry.host } });
  });

  after(async () => {
    if (t) rmSync(join(t.config.templatesDir, name), { recursive: true, force: true });
    await t?.close();
    await registry?.stop();
  });

  const build = async (steps: { type: "RUN" | "ENV"; args: string[] }[], image = `${registry.host}/cove/busybox:1`) => {
    const logs: BuildLogEntry[] = [];
    const result = await t.node.builder.build({
      name,
      spec: { source: { kind: "image", image }, steps: steps.map((s) => ({ ...s, force: false })), force: false },
      onLog: (e) => logs.push(e),
    });
    return { result, logs };
  };

  it("pulls, provisions and builds on the image; a sandbox from it runs on the image's files", async () => {
    const { result, logs } = await build([
      { type: "RUN", args: ["echo built-as-$(id -un) > /home/user/note"] },
      { type: "RUN", args: ["echo root-step > /etc/by-root", "root"] },
    ]);
    assert.ok(logs.some((l) => l.step === "base" && /pulling .*cove\/busybox:1/.test(l.message)));
    assert.ok(logs.some((l) => l.step === "base" && /provisioning/.test(l.message)));
    assert.equal(result.manifest.defaults.user, "user");
    assert.equal(result.manifest.defaults.env.FROM_IMAGE, "yes");

    const info = await t.node.manager.create({ templateId: name, timeoutMs: 120_000, envdAccessToken: "tok" });
    try {
      const lines: string[] = [];
      const code = await execInSandbox(info.envdAddress, "tok", {
        command: "id -un; cat /etc/from-image /home/user/note /etc/by-root; test -e /etc/gone && echo gone-is-back; echo $FROM_IMAGE",
        user: "user",
        cwd: "/home/user",
        env: { PATH: "/bin" },
        onLine: (_s, line) => lines.push(line),
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(code, 0, lines.join("\n"));
      assert.deepEqual(lines, ["user", "layer two", "built-as-user", "root-step", "yes"], "the image's env is the template's");
    } finally {
      await t.node.manager.kill(info.sandboxId);
    }

    const again = await build([
      { type: "RUN", args: ["echo built-as-$(id -un) > /home/user/note"] },
      { type: "RUN", args: ["echo root-step > /etc/by-root", "root"] },
    ]);
    assert.equal(again.result.cachedSteps, 2);
    assert.ok(
      again.logs.some((l) => l.step === "base" && /CACHED provisioning/.test(l.message)),
      "the provisioning is cached per image digest",
    );
  });

  it("a missing image fails the build at `base` with the registry's answer", async () => {
    const err = await build([], `${registry.host}/cove/nothing:1`).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BuildStepError, String(err));
    assert.equal(err.step, "base");
    assert.equal(err.code, "image_not_found");
  });
});

describe("debian:<suite> made from the Debian mirror (COVE_DEBIAN_IMAGES=local)", { skip: skipReason(), timeout: 900_000 }, () => {
  let t: TestNode;
  const name = `test-debian-${Date.now().toString(36)}`;
  before(async () => {
    t = await startTestNode({ ...suiteNetwork("node/template-build-debian"), env: { COVE_DEBIAN_IMAGES: "local", COVE_EXTRA_CA_CERTS: "" } });
  });
  after(async () => {
    if (t) rmSync(join(t.config.templatesDir, name), { recursive: true, force: true });
    await t?.close();
  });

  it("builds FROM debian:bookworm-slim with no registry, as E2B's fromDebianImage would", async () => {
    const logs: BuildLogEntry[] = [];
    const built = await t.node.builder.build({
      name,
      spec: {
        source: { kind: "image", image: "debian:bookworm-slim" },
        steps: [{ type: "RUN", args: ["cut -d. -f1 /etc/debian_version > $HOME/major; id -un >> $HOME/major"], force: false }],
        force: false,
      },
      onLog: (e) => logs.push(e),
    });
    assert.ok(
      logs.some((l) => l.step === "base" && /making debian:bookworm from the Debian mirror/.test(l.message)),
      logs.map((l) => l.message).join("\n"),
    );
    assert.equal(built.manifest.defaults.user, "user");
    const info = await t.node.manager.create({ templateId: name, timeoutMs: 120_000, envdAccessToken: "tok" });
    try {
      const lines: string[] = [];
      const code = await execInSandbox(info.envdAddress, "tok", {
        command: "cat /home/user/major",
        user: "user",
        cwd: "/home/user",
        env: {},
        onLine: (_s, line) => lines.push(line),
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(code, 0);
      assert.deepEqual(lines, ["12", "user"]);
    } finally {
      await t.node.manager.kill(info.sandboxId);
    }
  });
});
