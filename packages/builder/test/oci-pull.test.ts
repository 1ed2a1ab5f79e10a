import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { BuilderError } from "../src/errors.js";
import { hostPlatform } from "../src/oci/manifest.js";
import { createImageCache, type PullProgress, pullImage } from "../src/oci/pull.js";
import { buildLayerFsHelper } from "./helpers/layer-fs.js";
import { htpasswdLine, loopbackFetch, pushImage, pushManifest, registryBinary, sha256, startRegistry, type TestRegistry } from "./helpers/registry.js";
import { buildTar, type RawEntry } from "./helpers/tar-writer.js";

const skip = existsSync(registryBinary) ? false : `${registryBinary} is missing (apt-get install docker-registry, see scripts/install-deps.sh)`;
const arch = hostPlatform().architecture;
const code = (c: string) => (err: unknown) => {
  assert.ok(err instanceof BuilderError, String(err));
  assert.equal(err.code, c, err.message);
  return true;
};

function layer(entries: RawEntry[]) {
  const tar = buildTar(entries);
  return { compressed: gzipSync(tar), diffId: sha256(tar) };
}

/** A tiny rootfs: busybox (if the host has the static one) or plain files, then a layer that deletes and hides. */
function rootfsLayers() {
  const busybox = existsSync("/bin/busybox") ? readFileSync("/bin/busybox") : undefined;
  const base: RawEntry[] = [
    { path: "bin/", type: "5", mode: 0o755 },
    { path: "etc/", type: "5", mode: 0o755 },
    { path: "etc/hello", content: "hello from layer 1\n" },
    { path: "etc/gone", content: "deleted by layer 2\n" },
    { path: "var/", type: "5", mode: 0o755 },
    { path: "var/cache/", type: "5", mode: 0o755 },
    { path: "var/cache/old", content: "hidden by the opaque dir\n" },
    ...(busybox ? [{ path: "bin/busybox", content: busybox, mode: 0o755 } as RawEntry, { path: "bin/sh", type: "2", linkpath: "busybox" } as RawEntry] : []),
  ];
  const top: RawEntry[] = [
    { path: "etc/.wh.gone" },
    { path: "etc/added", content: "added by layer 2\n" },
    { path: "var/cache/.wh..wh..opq" },
    { path: "var/cache/new", content: "new\n" },
  ];
  return { busybox: busybox !== undefined, layers: [layer(base), layer(top)] };
}

const config = { Env: ["PATH=/bin", "GREETING=hi"], WorkingDir: "/etc", User: "1000:1000", Entrypoint: ["/bin/sh", "-c"], Cmd: ["cat hello"] };

describe("pullImage from a real registry", { skip }, () => {
  let registry: TestRegistry;
  const work = mkdtempSync(join(tmpdir(), "cove-pull-test-"));
  let helper = "";
  before(async () => {
    helper = buildLayerFsHelper();
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("pulls a two-layer image whose layers stack under overlayfs", async (t) => {
    const { busybox, layers } = rootfsLayers();
    const pushed = await pushImage({ url: registry.url, repository: "cove/rootfs" }, "v1", { layers, config, architecture: arch });
    const cache = createImageCache(join(work, "cache1"), { helper });
    const progress: PullProgress[] = [];
    const image = await pullImage({
      reference: `${registry.host}/cove/rootfs:v1`,
      cache,
      insecureRegistries: [registry.host],
      fetch: loopbackFetch,
      onProgress: (p) => progress.push(p),
    });
    assert.equal(image.reference, `${registry.host}/cove/rootfs:v1`);
    assert.equal(image.digest, pushed.digest);
    assert.deepEqual(image.config, { env: config.Env, workdir: "/etc", user: "1000:1000", entrypoint: config.Entrypoint, cmd: config.Cmd });
    assert.deepEqual(
      image.layers.map((l) => l.diffId),
      layers.map((l) => l.diffId),
    );
    const [l1, l2] = image.layers.map((l) => l.dir);
    assert.equal(readFileSync(join(l1!, "etc/hello"), "utf8"), "hello from layer 1\n");
    assert.ok(lstatSync(join(l2!, "etc/gone")).isCharacterDevice());
    assert.ok(progress.some((p) => p.phase === "download") && progress.filter((p) => p.phase === "done").length === 2);
    // Blobs are kept by digest; nothing is left in the temp dirs.
    assert.equal(readdirSync(join(work, "cache1/blobs/sha256")).length, 3);
    assert.deepEqual(readdirSync(join(work, "cache1/layers/tmp")), []);

    const mnt = join(work, "mnt");
    mkdirSync(mnt);
    try {
      execFileSync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${l2}:${l1}`, mnt], { stdio: "pipe" });
    } catch (err) {
      t.skip(`cannot mount overlayfs here: ${String((err as { stderr?: unknown }).stderr ?? err)}`);
      return;
    }
    try {
      assert.equal(existsSync(join(mnt, "etc/gone")), false);
      assert.deepEqual(readdirSync(join(mnt, "var/cache")), ["new"]);
      assert.equal(readFileSync(join(mnt, "etc/added"), "utf8"), "added by layer 2\n");
      if (busybox)
        assert.equal(
          execFileSync("chroot", [mnt, "/bin/sh", "-c", "busybox cat /etc/hello /etc/added"], { encoding: "utf8" }),
          "hello from layer 1\nadded by layer 2\n",
        );
      else t.diagnostic("no /bin/busybox: skipped running a command in the pulled rootfs");
    } finally {
      execFileSync("umount", [mnt]);
    }
  });

  it("picks this host's platform from an index, by tag and by digest, and shares layers", async () => {
    const target = { url: registry.url, repository: "cove/multi" };
    const { layers } = rootfsLayers();
    const extra = layer([{ path: "only-in-multi", content: "x" }]);
    const mine = await pushImage(target, "host", { layers: [layers[0]!, extra], config, architecture: arch });
    const other = await pushImage(target, "other", { layers: [extra], config, architecture: "s390x" });
    const index = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", ...other, platform: { os: "linux", architecture: "s390x" } },
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...mine,
          platform: { os: "linux", architecture: arch, ...(arch === "arm64" && { variant: "v8" }) },
        },
      ],
    };
    const pushedIndex = await pushManifest(target, "multi", index.mediaType, index);
    const cache = createImageCache(join(work, "cache2"), { helper });
    const base = { cache, insecureRegistries: [registry.host], fetch: loopbackFetch };
    const first = await pullImage({ ...base, reference: `${registry.host}/cove/multi:multi` });
    assert.equal(first.digest, mine.digest);
    const progress: PullProgress[] = [];
    const again = await pullImage({ ...base, reference: `${registry.host}/cove/multi@${pushedIndex.digest}`, onProgress: (p) => progress.push(p) });
    assert.deepEqual(
      again.layers.map((l) => l.dir),
      first.layers.map((l) => l.dir),
    );
    assert.deepEqual(
      progress.map((p) => [p.phase, p.cached]),
      [
        ["done", true],
        ["done", true],
      ],
    );
    await assert.rejects(
      pullImage({ ...base, reference: `${registry.host}/cove/multi:multi`, platform: { os: "linux", architecture: "riscv64" } }),
      (err: unknown) => {
        code("platform_not_found")(err);
        assert.match((err as Error).message, new RegExp(`linux/s390x, linux/${arch}`));
        return true;
      },
    );
    await assert.rejects(pullImage({ ...base, reference: `${registry.host}/cove/multi:other` }), code("platform_not_found"));
  });

  it("downloads a blob once for concurrent pulls sharing one cache", async () => {
    const target = { url: registry.url, repository: "cove/concurrent" };
    const big = layer([{ path: "blob", content: randomBytes(4 << 20) }]);
    await pushImage(target, "a", { layers: [big], config, architecture: arch });
    await pushImage(target, "b", { layers: [big, layer([{ path: "b", content: "b" }])], config, architecture: arch });
    let blobGets = 0;
    const counting = async (input: string, init?: RequestInit) => {
      if (input.includes(`/blobs/${sha256(big.compressed)}`)) blobGets++;
      return loopbackFetch(input, init);
    };
    const cache = createImageCache(join(work, "cache3"), { helper });
    const base = { cache, insecureRegistries: [registry.host], fetch: counting };
    const [a, b] = await Promise.all([
      pullImage({ ...base, reference: `${registry.host}/cove/concurrent:a` }),
      pullImage({ ...base, reference: `${registry.host}/cove/concurrent:b` }),
    ]);
    assert.equal(blobGets, 1);
    assert.equal(a.layers[0]?.dir, b.layers[0]?.dir);
  });

  it("pulls zstd and uncompressed layers", async () => {
    const a = buildTar([{ path: "zstd-file", content: "z" }]);
    const b = buildTar([{ path: "plain-file", content: "p" }]);
    await pushImage({ url: registry.url, repository: "cove/kinds" }, "1", {
      layers: [
        { compressed: zstdCompressSync(a), diffId: sha256(a), mediaType: "application/vnd.oci.image.layer.v1.tar+zstd" },
        { compressed: b, diffId: sha256(b), mediaType: "application/vnd.oci.image.layer.v1.tar" },
      ],
      config,
      architecture: arch,
    });
    const image = await pullImage({
      reference: `${registry.host}/cove/kinds:1`,
      cache: createImageCache(join(work, "cache8"), { helper }),
      insecureRegistries: [registry.host],
      fetch: loopbackFetch,
    });
    assert.equal(readFileSync(join(image.layers[0]!.dir, "zstd-file"), "utf8"), "z");
    assert.equal(readFileSync(join(image.layers[1]!.dir, "plain-file"), "utf8"), "p");
  });

  it("refuses a layer whose content does not match the config's diff id", async () => {
    const real = buildTar([{ path: "f", content: "real" }]);
    const other = buildTar([{ path: "f", content: "other" }]);
    await pushImage({ url: registry.url, repository: "cove/liar" }, "1", {
      layers: [{ compressed: gzipSync(real), diffId: sha256(other) }],
      config,
      architecture: arch,
    });
    const dir = join(work, "cache9");
    await assert.rejects(
      pullImage({
        reference: `${registry.host}/cove/liar:1`,
        cache: createImageCache(dir, { helper }),
        insecureRegistries: [registry.host],
        fetch: loopbackFetch,
      }),
      code("invalid_image"),
    );
    assert.deepEqual(readdirSync(join(dir, "layers/tmp")), []);
    assert.equal(existsSync(join(dir, "layers/sha256")) ? readdirSync(join(dir, "layers/sha256")).length : 0, 0);
  });

  it("reports a missing tag, repository or blob", async () => {
    const cache = createImageCache(join(work, "cache4"), { helper });
    const base = { cache, insecureRegistries: [registry.host], fetch: loopbackFetch };
    await assert.rejects(pullImage({ ...base, reference: `${registry.host}/cove/rootfs:nope` }), code("image_not_found"));
    await assert.rejects(pullImage({ ...base, reference: `${registry.host}/cove/never-pushed` }), code("image_not_found"));
    await assert.rejects(pullImage({ ...base, reference: `${registry.host}/cove/rootfs@sha256:${"0".repeat(64)}` }), code("image_not_found"));
  });

  it("uses an operator's mirror for docker.io", async () => {
    const { layers } = rootfsLayers();
    await pushImage({ url: registry.url, repository: "library/tiny" }, "1", { layers, config, architecture: arch });
    const image = await pullImage({
      reference: "tiny:1",
      cache: createImageCache(join(work, "cache5"), { helper }),
      mirrors: { "docker.io": [registry.url] },
      fetch: loopbackFetch,
    });
    assert.equal(image.reference, "docker.io/library/tiny:1");
    assert.equal(image.layers.length, 2);
  });

  it("names the registry it cannot reach", async () => {
    const stopped = await startRegistry();
    await stopped.stop();
    await assert.rejects(
      pullImage({
        reference: `${stopped.host}/x:y`,
        cache: createImageCache(join(work, "cache6"), { helper }),
        insecureRegistries: [stopped.host],
        fetch: loopbackFetch,
      }),
      (err: unknown) => {
        code("registry_unreachable")(err);
        assert.match((err as Error).message, new RegExp(`${stopped.host}.*ECONNREFUSED`));
        return true;
      },
    );
  });

  it("measures pull and unpack throughput", async (t) => {
    const files: RawEntry[] = Array.from({ length: 32 }, (_, i) => ({
      path: `data/f${i}`,
      content: Buffer.concat([randomBytes(1 << 20), Buffer.alloc(1 << 20)]),
    }));
    const big = layer(files);
    await pushImage({ url: registry.url, repository: "cove/big" }, "1", { layers: [big], config, architecture: arch });
    const started = process.hrtime.bigint();
    const image = await pullImage({
      reference: `${registry.host}/cove/big:1`,
      cache: createImageCache(join(work, "cache7"), { helper }),
      insecureRegistries: [registry.host],
      fetch: loopbackFetch,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const mb = 64;
    t.diagnostic(
      `pull+unpack of a ${mb} MiB layer (${(big.compressed.length / 2 ** 20).toFixed(1)} MiB gzip) from loopback: ${seconds.toFixed(2)} s, ${(mb / seconds).toFixed(0)} MiB/s uncompressed`,
    );
    assert.equal(readdirSync(join(image.layers[0]!.dir, "data")).length, 32);
  });
});

describe("pullImage with htpasswd basic auth", { skip }, () => {
  const line = htpasswdLine("cove", "s3cret");
  let registry: TestRegistry | undefined;
  const work = mkdtempSync(join(tmpdir(), "cove-pull-auth-test-"));
  before(async () => {
    if (line !== undefined) registry = await startRegistry({ htpasswd: line });
  });
  after(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("pulls with the right password and refuses otherwise", async (t) => {
    if (registry === undefined) {
      t.skip("htpasswd (apache2-utils) is not installed: no bcrypt hash for the registry");
      return;
    }
    const { layers } = rootfsLayers();
    await pushImage({ url: registry.url, repository: "private/app", auth: { username: "cove", password: "s3cret" } }, "1", {
      layers,
      config,
      architecture: arch,
    });
    const helper = buildLayerFsHelper();
    const base = { reference: `${registry.host}/private/app:1`, insecureRegistries: [registry.host], fetch: loopbackFetch };
    const image = await pullImage({
      ...base,
      cache: createImageCache(join(work, "c1"), { helper }),
      credentials: { type: "registry", username: "cove", password: "s3cret" },
    });
    assert.equal(image.layers.length, 2);
    await assert.rejects(pullImage({ ...base, cache: createImageCache(join(work, "c2"), { helper }) }), code("registry_unauthorized"));
    await assert.rejects(
      pullImage({ ...base, cache: createImageCache(join(work, "c3"), { helper }), credentials: { type: "registry", username: "cove", password: "wrong" } }),
      code("registry_unauthorized"),
    );
  });
});
