// Which image references the node can make from the Debian mirror, and as which suite.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { debianSuiteOf } from "../src/builds/debian-rootfs.js";

describe("debianSuiteOf", () => {
  const cases: [string, string | undefined][] = [
    ["debian", "stable"],
    ["debian:latest", "stable"],
    ["debian:stable", "stable"],
    ["debian:bookworm", "bookworm"],
    ["debian:bookworm-slim", "bookworm"],
    ["debian:12", "bookworm"],
    ["debian:13-slim", "trixie"],
    ["docker.io/library/debian:trixie", "trixie"],
    ["library/debian:sid", "sid"],
    ["debian:12.5", undefined],
    ["debian:bookworm@sha256:abc", undefined],
    ["ubuntu:24.04", undefined],
    ["ghcr.io/x/debian:bookworm", undefined],
    ["mydebian:bookworm", undefined],
  ];
  for (const [reference, suite] of cases) {
    it(`${reference} → ${suite ?? "the registry"}`, () => assert.equal(debianSuiteOf(reference), suite));
  }
});
