import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BuilderError } from "../src/errors.js";
import { formatImageReference, parseImageReference } from "../src/oci/reference.js";

const sha = `sha256:${"ab".repeat(32)}`;

describe("parseImageReference", () => {
  const cases: [string, string, { registry: string; repository: string; tag?: string; digest?: string }][] = [
    ["official image", "python:3.12", { registry: "docker.io", repository: "library/python", tag: "3.12" }],
    ["no tag means latest", "ubuntu", { registry: "docker.io", repository: "library/ubuntu", tag: "latest" }],
    ["hub user repo", "myuser/app", { registry: "docker.io", repository: "myuser/app", tag: "latest" }],
    ["explicit hub", "docker.io/library/alpine:3", { registry: "docker.io", repository: "library/alpine", tag: "3" }],
    ["index.docker.io alias", "index.docker.io/foo/bar", { registry: "docker.io", repository: "foo/bar", tag: "latest" }],
    ["explicit hub single name", "docker.io/alpine", { registry: "docker.io", repository: "library/alpine", tag: "latest" }],
    ["ghcr digest", `ghcr.io/a/b@${sha}`, { registry: "ghcr.io", repository: "a/b", digest: sha }],
    ["tag and digest", `ghcr.io/a/b:v1@${sha}`, { registry: "ghcr.io", repository: "a/b", tag: "v1", digest: sha }],
    ["localhost with port", "localhost:5000/x:y", { registry: "localhost:5000", repository: "x", tag: "y" }],
    ["localhost no port", "localhost/x", { registry: "localhost", repository: "x", tag: "latest" }],
    ["ip with port, no tag", "127.0.0.1:5000/a/b/c", { registry: "127.0.0.1:5000", repository: "a/b/c", tag: "latest" }],
    ["port-looking tag is a tag", "myhost/x:5000", { registry: "docker.io", repository: "myhost/x", tag: "5000" }],
    ["separators", "reg.example.com/a_b/c__d/e-f/g.h:1.0-rc_1", { registry: "reg.example.com", repository: "a_b/c__d/e-f/g.h", tag: "1.0-rc_1" }],
    ["ipv6 host", "[::1]:5000/x", { registry: "[::1]:5000", repository: "x", tag: "latest" }],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => assert.deepEqual(parseImageReference(input), want));
  }

  const invalid: [string, string][] = [
    ["empty", ""],
    ["uppercase repo", "Python:3"],
    ["bad tag", "python:-x"],
    ["short digest", "python@sha256:abc"],
    ["unsupported digest algorithm", `python@md5:${"a".repeat(32)}`],
    ["empty component", "a//b"],
    ["trailing slash", "ghcr.io/a/"],
    ["only registry", "ghcr.io/"],
    ["whitespace", " python"],
    ["tag too long", `python:${"a".repeat(129)}`],
    ["double separator", "a--/b"],
  ];
  for (const [name, input] of invalid) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => parseImageReference(input),
        (err: unknown) => err instanceof BuilderError && err.code === "invalid_image_reference",
      );
    });
  }

  it("formats canonically", () => {
    assert.equal(formatImageReference(parseImageReference("python:3.12")), "docker.io/library/python:3.12");
    assert.equal(formatImageReference(parseImageReference(`ghcr.io/a/b@${sha}`)), `ghcr.io/a/b@${sha}`);
  });
});
