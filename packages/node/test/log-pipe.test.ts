// The node's side of a sandbox's output pipe, without a sandbox: rotation and cap, the read
// budget, draining what a runtime wrote before it exited, and no fd left after close.
import assert from "node:assert/strict";
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { openSandboxLog } from "../src/runtime/container/log-pipe.js";

const fdsOn = (prefix: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(prefix);
    } catch {
      return false;
    }
  });

/** Writes `bytes` into the FIFO from a non-blocking writer; returns how much the pipe took. */
async function pour(fifo: string, bytes: number, rounds: number): Promise<number> {
  const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const chunk = Buffer.alloc(4096, 120);
  let written = 0;
  try {
    for (let r = 0; r < rounds && written < bytes; r++) {
      try {
        while (written < bytes) written += writeSync(fd, chunk);
      } catch {
        await sleep(20); // EAGAIN: full; let the reader run
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

describe("sandbox log pipe", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync("/var/tmp/cove-log-pipe-");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the log under its cap with one rotated generation", async () => {
    const log = await openSandboxLog(join(dir, "a.fifo"), join(dir, "a.log"), { maxBytes: 64 * 1024, bytesPerSecond: 1e9, burstBytes: 1e9 });
    try {
      assert.ok(statSync(join(dir, "a.fifo")).isFIFO());
      const written = await pour(log.fifo, 1024 * 1024, 1000);
      assert.equal(written, 1024 * 1024);
      for (let i = 0; i < 200 && log.mark() < written; i++) await sleep(10);
      assert.equal(log.mark(), written);
      assert.ok(statSync(join(dir, "a.log")).size <= 64 * 1024);
      assert.ok(statSync(join(dir, "a.log.1")).size <= 64 * 1024);
      assert.deepEqual(
        readdirSync(dir)
          .filter((f) => f.startsWith("a.log"))
          .sort(),
        ["a.log", "a.log.1"],
      );
    } finally {
      log.close();
    }
  });

  it("reads a flooding writer no faster than its budget", async () => {
    const limits = { maxBytes: 1024 * 1024, bytesPerSecond: 8 * 1024, burstBytes: 16 * 1024 };
    const log = await openSandboxLog(join(dir, "b.fifo"), join(dir, "b.log"), limits);
    try {
      const started = Date.now();
      const written = await pour(log.fifo, 4 * 1024 * 1024, 25);
      const seconds = (Date.now() - started) / 1000;
      // Past the budget the node stops reading (after at most one more read of up to 64 KiB, which
      // the stream holds), so the pipe (64 KiB) fills and the writer waits.
      const chunk = 64 * 1024;
      const taken = limits.burstBytes + limits.bytesPerSecond * (seconds + 1) + chunk;
      assert.ok(written < 4 * 1024 * 1024, "the writer was held back");
      assert.ok(log.mark() <= taken, `the node took ${log.mark()} bytes in ${seconds} s (at most ${taken})`);
      assert.ok(written <= taken + 2 * chunk, `the writer got ${written} bytes in (at most ${taken + 2 * chunk})`);
    } finally {
      log.close();
    }
  });

  it("drain() takes what a writer left in the pipe, synchronously, for the runtime's error message", async () => {
    const log = await openSandboxLog(join(dir, "c.fifo"), join(dir, "c.log"));
    try {
      const start = log.mark();
      const fd = openSync(log.fifo, constants.O_WRONLY);
      writeSync(fd, "crun: creating container: no such file\n");
      closeSync(fd);
      log.drain();
      assert.equal(log.textSince(start), "crun: creating container: no such file\n");
      assert.equal(readFileSync(join(dir, "c.log"), "utf8"), "crun: creating container: no such file\n");
    } finally {
      log.close();
    }
  });

  it("a writer sees EPIPE while no node reads, and a reopened reader (a restarted node) reads it again; close leaves no fd", async () => {
    const first = await openSandboxLog(join(dir, "d.fifo"), join(dir, "d.log"));
    assert.ok(fdsOn(join(dir, "d.")).length >= 2, "the FIFO and the log are open");
    // A sandbox's write end stays open across the node's restart.
    const writer = openSync(join(dir, "d.fifo"), constants.O_WRONLY);
    first.close();
    first.close(); // idempotent
    assert.equal(fdsOn(join(dir, "d.")).length, 1, "only the test's writer is left");
    assert.throws(() => writeSync(writer, "nobody reads this\n"), { code: "EPIPE" });
    const second = await openSandboxLog(join(dir, "d.fifo"), join(dir, "d.log"));
    try {
      writeSync(writer, "after restart\n");
      for (let i = 0; i < 200 && second.mark() === 0; i++) await sleep(10);
      assert.equal(readFileSync(join(dir, "d.log"), "utf8"), "after restart\n");
    } finally {
      second.close();
      closeSync(writer);
    }
    assert.deepEqual(fdsOn(join(dir, "d.")), []);
  });
});
