import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuilderError } from "../src/errors.js";
import { hostPlatform, mediaTypes, parseImageConfig, parseManifest, selectPlatform, sha256Digest, verifyDigest } from "../src/oci/manifest.js";

const d = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const code = (c: string) => (err: unknown) => err instanceof BuilderError && err.code === c;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe("parseManifest", () => {
  const index = {
    schemaVersion: 2,
    mediaType: mediaTypes.ociIndex,
    manifests: [
      { mediaType: mediaTypes.ociManifest, digest: d(1), size: 10, platform: { os: "linux", architecture: "amd64" } },
      { mediaType: mediaTypes.ociManifest, digest: d(2), size: 10, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
      { mediaType: mediaTypes.ociManifest, digest: d(3), size: 10, platform: { os: "linux", architecture: "arm", variant: "v7" } },
      { mediaType: mediaTypes.ociManifest, digest: d(4), size: 10, platform: { os: "unknown", architecture: "unknown" } },
    ],
  };

  it("reads an OCI index and picks the host's platform", () => {
    const parsed = parseManifest(json(index), "", "m");
    assert.equal(parsed.kind, "index");
    if (parsed.kind !== "index") return;
    assert.equal(selectPlatform(parsed.manifests, { os: "linux", architecture: "amd64" }, "m").digest, d(1));
    assert.equal(selectPlatform(parsed.manifests, { os: "linux", architecture: "arm64", variant: "v8" }, "m").digest, d(2));
    assert.equal(selectPlatform(parsed.manifests, { os: "linux", architecture: "arm", variant: "v7" }, "m").digest, d(3));
  });

  it("matches arm64 entries that name no variant", () => {
    const list = {
      schemaVersion: 2,
      mediaType: mediaTypes.dockerList,
      manifests: [{ mediaType: mediaTypes.dockerManifest, digest: d(5), size: 1, platform: { os: "linux", architecture: "arm64" } }],
    };
    const parsed = parseManifest(json(list), "", "m");
    assert.ok(parsed.kind === "index");
    assert.equal(selectPlatform(parsed.manifests, hostPlatform("arm64"), "m").digest, d(5));
  });

  it("lists the available platforms when none fits", () => {
    const parsed = parseManifest(json(index), "", "m");
    assert.ok(parsed.kind === "index");
    assert.throws(
      () => selectPlatform(parsed.manifests, { os: "linux", architecture: "s390x" }, "python:3"),
      (err: unknown) => err instanceof BuilderError && err.code === "platform_not_found" && /linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7$/.test(err.message),
    );
  });

  it("reads a Docker v2 image manifest by its Content-Type", () => {
    const m = {
      schemaVersion: 2,
      config: { mediaType: mediaTypes.dockerConfig, digest: d(9), size: 100 },
      layers: [
        { mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", digest: d(10), size: 5 },
        { mediaType: "application/vnd.oci.image.layer.v1.tar+zstd", digest: d(11), size: 6 },
        { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: d(12), size: 7 },
      ],
    };
    const parsed = parseManifest(json(m), mediaTypes.dockerManifest, "m");
    assert.ok(parsed.kind === "image");
    assert.deepEqual(
      parsed.manifest.layers.map((l) => l.compression),
      ["gzip", "zstd", "none"],
    );
    assert.equal(parsed.manifest.config.digest, d(9));
  });

  const refusals: [string, unknown, string][] = [
    ["schema 1 by version", { schemaVersion: 1, name: "x", fsLayers: [] }, "schema 1"],
    ["schema 1 by media type", { schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws" }, "schema 1"],
    ["unknown media type", { schemaVersion: 2, mediaType: "application/x-foo" }, "unknown media type"],
    [
      "foreign layer",
      {
        schemaVersion: 2,
        mediaType: mediaTypes.dockerManifest,
        config: { mediaType: "x", digest: d(1), size: 1 },
        layers: [{ mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", digest: d(2), size: 1 }],
      },
      "foreign",
    ],
    [
      "sha512 digest",
      { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { mediaType: "x", digest: `sha512:${"a".repeat(128)}`, size: 1 }, layers: [] },
      "only sha256",
    ],
    ["bad size", { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { mediaType: "x", digest: d(1), size: -1 }, layers: [] }, "invalid size"],
  ];
  for (const [name, body, message] of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseManifest(json(body), "", "m"),
        (err: unknown) => err instanceof BuilderError && err.code === "invalid_image" && err.message.includes(message),
      );
    });
  }
  it("refuses non-JSON", () => assert.throws(() => parseManifest(Buffer.from("<html>"), "", "m"), code("invalid_image")));
});

describe("digests and config", () => {
  it("verifies digests", () => {
    const bytes = Buffer.from("hello");
    verifyDigest(bytes, sha256Digest(bytes), "x");
    assert.throws(() => verifyDigest(Buffer.from("hellO"), sha256Digest(bytes), "x"), code("invalid_image"));
  });

  it("reads the runtime settings and diff ids", () => {
    const cfg = {
      architecture: "amd64",
      os: "linux",
      config: { Env: ["PATH=/usr/bin", "LANG=C.UTF-8"], WorkingDir: "/app", User: "1000:1000", Entrypoint: ["/bin/tini", "--"], Cmd: ["python3"] },
      rootfs: { type: "layers", diff_ids: [d(1), d(2)] },
    };
    const parsed = parseImageConfig(json(cfg), "c");
    assert.deepEqual(parsed.config, {
      env: ["PATH=/usr/bin", "LANG=C.UTF-8"],
      workdir: "/app",
      user: "1000:1000",
      entrypoint: ["/bin/tini", "--"],
      cmd: ["python3"],
    });
    assert.deepEqual(parsed.diffIds, [d(1), d(2)]);
    assert.deepEqual(parseImageConfig(json({ rootfs: { type: "layers", diff_ids: [] }, config: null }), "c").config, {
      env: [],
      workdir: "",
      user: "",
      entrypoint: [],
      cmd: [],
    });
    assert.throws(() => parseImageConfig(json({ config: {} }), "c"), code("invalid_image"));
  });

  it("maps node's arch names to OCI's", () => {
    assert.deepEqual(hostPlatform("x64"), { os: "linux", architecture: "amd64" });
    assert.deepEqual(hostPlatform("arm64"), { os: "linux", architecture: "arm64", variant: "v8" });
  });
});
