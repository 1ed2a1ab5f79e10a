// Many calls in flight at once on the node API: the process must stay quiet about listeners
// (each call links its context to the server's shutdown signal while it runs).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createNodeClient, type NodeClient } from "@cove/protocol/nodeapi-client";
import { createNodeApiServer, type NodeApiServer } from "../src/api/server.js";
import type { NodeInfo } from "../src/api/types.js";
import type { SandboxInfo, SandboxService } from "../src/sandbox/types.js";

const SECRET = "concurrency-secret";
const nodeInfo: NodeInfo = {
  nodeId: "n1",
  version: "0.1.0",
  runtime: "crun test",
  cgroupMode: "v2",
  capacity: { cpuCount: 2, memoryBytes: 1 << 30, sandboxCount: 0 },
};

/** A service whose creates wait until the test lets them all go at once. */
function createHeldService(): { service: SandboxService; started: () => number; release: () => void } {
  let started = 0;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const unused = () => {
    throw new Error("not used by this test");
  };
  const service: SandboxService = {
    async create(request) {
      started++;
      await gate;
      const info: SandboxInfo = {
        sandboxId: `sbx${started}`,
        templateId: request.templateId,
        state: "running",
        cpuCount: 1,
        memoryMB: 512,
        diskMB: 1024,
        startedAt: new Date().toISOString(),
        endAt: new Date(Date.now() + request.timeoutMs).toISOString(),
        metadata: {},
        allowInternetAccess: true,
        autoPause: false,
        envdVersion: "0.6.13",
        envdAddress: "10.11.0.2:49983",
        sandboxIp: "10.11.0.2",
      };
      return info;
    },
    list: () => [],
    get: unused,
    kill: unused,
    setTimeout: unused,
    pause: unused,
    resume: unused,
    route: unused,
    events: () => ({ [Symbol.asyncIterator]: () => ({ next: async () => ({ value: undefined, done: true as const }) }) }),
  };
  return { service, started: () => started, release };
}

describe("node API under concurrent calls", () => {
  let server: NodeApiServer;
  let client: NodeClient;
  const held = createHeldService();
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);

  before(async () => {
    process.on("warning", onWarning);
    server = createNodeApiServer({ service: held.service, info: () => nodeInfo, secret: SECRET });
    const { host, port } = await server.listen();
    client = createNodeClient({ baseUrl: `http://${host}:${port}`, secret: SECRET });
  });
  after(async () => {
    process.off("warning", onWarning);
    await server.close();
  });

  it("30 creates in flight at once: all answered, no MaxListenersExceededWarning", async () => {
    const calls = Array.from({ length: 30 }, () => client.createSandbox({ templateId: "base", timeoutMs: 60_000 }));
    while (held.started() < calls.length) await new Promise((r) => setTimeout(r, 10));
    held.release();
    const answered = await Promise.all(calls);
    assert.equal(answered.length, 30);
    assert.ok(answered.every((a) => a.sandbox?.templateId === "base"));
    // Warnings are emitted on the next tick after the listener is added; let them arrive.
    await new Promise((r) => setImmediate(r));
    const listenerWarnings = warnings.filter((w) => w.name === "MaxListenersExceededWarning");
    assert.deepEqual(
      listenerWarnings.map((w) => w.message),
      [],
    );
  });
});
