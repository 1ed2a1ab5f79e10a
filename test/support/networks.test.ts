import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { suiteNetworks } from "./networks.js";

function cidrRange(cidr: string): [number, number] {
  const [address, bits] = cidr.split("/");
  const base = address!.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  return [base, base + size - 1];
}

describe("suite networks", () => {
  const entries = Object.entries(suiteNetworks);

  it("gives every suite its own prefix, none the start of another (cleanups match by prefix)", () => {
    for (const [a, na] of entries) {
      for (const [b, nb] of entries) {
        if (a !== b) assert.ok(!nb.prefix.startsWith(na.prefix), `${a} (${na.prefix}) is a prefix of ${b} (${nb.prefix})`);
      }
      assert.match(na.prefix, /^[a-z]{2,6}$/, a);
    }
  });

  it("gives every suite its own address range", () => {
    for (const [a, na] of entries) {
      for (const [b, nb] of entries) {
        if (a >= b) continue;
        const [aStart, aEnd] = cidrRange(na.cidr);
        const [bStart, bEnd] = cidrRange(nb.cidr);
        assert.ok(aEnd < bStart || bEnd < aStart, `${a} (${na.cidr}) overlaps ${b} (${nb.cidr})`);
      }
    }
  });
});
