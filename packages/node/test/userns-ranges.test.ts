import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NodeError } from "../src/errors.js";
import { createUidRanges, idsPerSandbox } from "../src/userns/index.js";

describe("sandbox uid ranges", () => {
  const base = 0x7000_0000;

  it("hands out the lowest free range and reuses released ones", () => {
    const r = createUidRanges({ base, count: 3 });
    assert.equal(r.allocate(), base);
    assert.equal(r.allocate(), base + idsPerSandbox);
    r.release(base);
    assert.equal(r.allocate(), base);
    assert.equal(r.allocate(), base + 2 * idsPerSandbox);
    assert.throws(
      () => r.allocate(),
      (e: unknown) => e instanceof NodeError && e.code === "unavailable",
    );
    assert.equal(r.inUse(), 3);
  });

  it("claims a persisted range once, and refuses ranges that are not its own", () => {
    const r = createUidRanges({ base, count: 4 });
    assert.equal(r.claim(base + 2 * idsPerSandbox), true);
    assert.equal(r.claim(base + 2 * idsPerSandbox), false, "taken twice");
    assert.equal(r.claim(base + 1), false, "not aligned");
    assert.equal(r.claim(base - idsPerSandbox), false, "below the base");
    assert.equal(r.claim(base + 4 * idsPerSandbox), false, "past the last range");
    assert.equal(r.allocate(), base, "allocation skips the claimed range only");
    assert.equal(r.allocate(), base + idsPerSandbox);
    assert.equal(r.allocate(), base + 3 * idsPerSandbox);
  });

  it("refuses bases and counts that leave 32-bit ids or are misaligned", () => {
    const bad = (o: { base: number; count: number }) =>
      assert.throws(
        () => createUidRanges(o),
        (e: unknown) => e instanceof NodeError && e.code === "invalid_argument",
      );
    bad({ base: 0, count: 1 });
    bad({ base: base + 5, count: 1 });
    bad({ base, count: 0 });
    bad({ base: 0xffff_0000, count: 1 });
    assert.doesNotThrow(() => createUidRanges({ base, count: 4096 }));
  });
});
