// The node API over a real loopback port, through the real client. The
// SandboxService here is an in-memory stand-in for the sandbox manager, which
// has its own tests against real crun sandboxes; these tests are about the
// transport: field mapping, auth, error rendering and stream lifetimes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { SandboxEventReason, SandboxEventType, SandboxState } from "@cove/protocol/nodeapi";
import { createNodeClient, type NodeClient } from "@cove/protocol/nodeapi-client";
import { bearerToken } from "../src/api/auth.js";
import { createNodeApiServer, type NodeApiServer } from "../src/api/server.js";
import type { NodeApiLogger, NodeInfo } from "../src/api/types.js";
import { NodeError } from "../src/errors.js";
import type { CreateSandboxRequest, SandboxEvent, SandboxInfo, SandboxRoute, SandboxService } from "../src/sandbox/types.js";

const SECRET = "s3cret-for-tests";
const INTERNAL_TEXT = "disk /dev/sda3 exploded at 0xdeadbeef";

/** Stands in for the sandbox manager: records calls, keeps sandboxes in a Map, fans out pushed events. */
function createFakeService() {
  const sandboxes = new Map<string, SandboxInfo>();
  const calls: Array<[string, ...unknown[]]> = [];
  const subscribers = new Set<(event: SandboxEvent) => void>();
  let next = 1;
  let createDelayMs = 0;
  const find = (id: string): SandboxInfo => {
    if (id === "explode") throw new Error(INTERNAL_TEXT);
    const found = sandboxes.get(id);
    if (!found) throw new NodeError("not_found", `sandbox ${id} not found`);
    return found;
  };
  const update = (id: string, patch: Partial<SandboxInfo>): SandboxInfo => {
    const updated = { ...find(id), ...patch };
    sandboxes.set(id, updated);
    return updated;
  };
  const service: SandboxService = {
    async create(request: CreateSandboxRequest) {
      calls.push(["create", request]);
      await new Promise((resolve) => setTimeout(resolve, createDelayMs));
      const info: SandboxInfo = {
        sandboxId: `sbx${next++}`,
        templateId: request.templateId,
        state: "running",
        cpuCount: request.cpuCount ?? 2,
        memoryMB: request.memoryMB ?? 512,
        diskMB: 4096,
        startedAt: "2030-01-02T03:04:05.678Z",
        endAt: new Date(Date.parse("2030-01-02T03:04:05.678Z") + request.timeoutMs).toISOString(),
        metadata: request.metadata ?? {},
        allowInternetAccess: request.allowInternetAccess ?? true,
        autoPause: request.autoPause ?? false,
        envdVersion: "0.6.13",
        envdAddress: "10.11.0.2:49983",
        sandboxIp: "10.11.0.2",
      };
      sandboxes.set(info.sandboxId, info);
      return info;
    },
    list: () => [...sandboxes.values()],
    get: (id) => find(id),
    async kill(id) {
      calls.push(["kill", id]);
      find(id);
      sandboxes.delete(id);
    },
    async setTimeout(id, timeoutMs) {
      calls.push(["setTimeout", id, timeoutMs]);
      return update(id, { endAt: new Date(Date.parse("2031-01-01T00:00:00.000Z") + timeoutMs).toISOString() });
    },
    async pause(id) {
      return update(id, { state: "paused" });
    },
    async resume(id, timeoutMs) {
      calls.push(["resume", id, timeoutMs]);
      return update(id, { state: "running" });
    },
    route(id, port): SandboxRoute {
      const info = find(id);
      return { sandboxId: id, state: info.state, address: `${info.sandboxIp}:${port}` };
    },
    async *events(signal) {
      const queue: SandboxEvent[] = [];
      let wake: (() => void) | undefined;
      const push = (event: SandboxEvent): void => {
        queue.push(event);
        wake?.();
      };
      const onAbort = (): void => wake?.();
      subscribers.add(push);
      signal.addEventListener("abort", onAbort);
      try {
        while (!signal.aborted) {
          const event = queue.shift();
          if (event) yield event;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        subscribers.delete(push);
        signal.removeEventListener("abort", onAbort);
      }
    },
  };
  const emit = (event: SandboxEvent): void => subscribers.forEach((push) => push(event));
  const slowCreates = (ms: number): void => {
    createDelayMs = ms;
  };
  return { service, sandboxes, calls, subscribers, emit, slowCreates };
}

const nodeInfo: NodeInfo = {
  nodeId: "node-a",
  version: "0.1.0",
  runtime: "crun 1.8.1",
  cgroupMode: "v2",
  capacity: { cpuCount: 16, memoryBytes: 64 * 2 ** 30, sandboxCount: 3 },
};

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function rejectsWith(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  const err = await promise.then(
    () => assert.fail(`expected ${Code[code]}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConnectError, `not a ConnectError: ${String(err)}`);
  assert.equal(err.code, code, `${Code[err.code]}: ${err.rawMessage}`);
  return err;
}

interface Harness {
  server: NodeApiServer;
  baseUrl: string;
  client: NodeClient;
  fake: ReturnType<typeof createFakeService>;
  logged: Array<{ details: object; message: string }>;
}

async function startHarness(): Promise<Harness> {
  const fake = createFakeService();
  const logged: Harness["logged"] = [];
  const logger: NodeApiLogger = { error: (details, message) => logged.push({ details, message }) };
  const server = createNodeApiServer({ service: fake.service, info: () => nodeInfo, secret: SECRET, port: 0, logger });
  const { host, port } = await server.listen();
  assert.equal(host, "127.0.0.1");
  const baseUrl = `http://${host}:${port}`;
  return { server, baseUrl, client: createNodeClient({ baseUrl, secret: SECRET }), fake, logged };
}

describe("node API round trips", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.server.close());

  it("CreateSandbox maps every request and response field", async () => {
    const { sandbox } = await h.client.createSandbox({
      templateId: "base",
      cpuCount: 4,
      memoryMb: 1024,
      timeoutMs: 60_000,
      envVars: { A: "1" },
      metadata: { owner: "t1" },
      allowInternetAccess: false,
      autoPause: true,
      envdAccessToken: "tok",
    });
    assert.deepEqual(h.fake.calls.at(-1), [
      "create",
      {
        templateId: "base",
        cpuCount: 4,
        memoryMB: 1024,
        timeoutMs: 60_000,
        envVars: { A: "1" },
        metadata: { owner: "t1" },
        allowInternetAccess: false,
        autoPause: true,
        envdAccessToken: "tok",
      },
    ]);
    assert.ok(sandbox);
    assert.equal(sandbox.sandboxId, "sbx1");
    assert.equal(sandbox.templateId, "base");
    assert.equal(sandbox.state, SandboxState.RUNNING);
    assert.equal(sandbox.cpuCount, 4);
    assert.equal(sandbox.memoryMb, 1024);
    assert.equal(sandbox.diskMb, 4096);
    assert.ok(sandbox.startedAt && sandbox.endAt);
    assert.equal(timestampDate(sandbox.startedAt).toISOString(), "2030-01-02T03:04:05.678Z");
    assert.equal(timestampDate(sandbox.endAt).toISOString(), "2030-01-02T03:05:05.678Z");
    assert.deepEqual(sandbox.metadata, { owner: "t1" });
    assert.equal(sandbox.allowInternetAccess, false);
    assert.equal(sandbox.autoPause, true);
    assert.equal(sandbox.envdVersion, "0.6.13");
    assert.equal(sandbox.envdAddress, "10.11.0.2:49983");
    assert.equal(sandbox.sandboxIp, "10.11.0.2");
  });

  it("CreateSandbox leaves unset optional fields undefined for the service's defaults", async () => {
    await h.client.createSandbox({ templateId: "base", timeoutMs: 1000 });
    const [, request] = h.fake.calls.at(-1) ?? [];
    const sent = request as CreateSandboxRequest;
    assert.equal(sent.cpuCount, undefined);
    assert.equal(sent.memoryMB, undefined);
    assert.equal(sent.allowInternetAccess, undefined);
    assert.equal(sent.autoPause, undefined);
    assert.equal(sent.envdAccessToken, undefined);
    assert.deepEqual(sent.envVars, {});
  });

  it("ListSandboxes and GetSandbox", async () => {
    const { sandboxes } = await h.client.listSandboxes({});
    assert.deepEqual(
      sandboxes.map((s) => s.sandboxId),
      ["sbx1", "sbx2"],
    );
    const { sandbox } = await h.client.getSandbox({ sandboxId: "sbx2" });
    assert.equal(sandbox?.sandboxId, "sbx2");
    assert.equal(sandbox?.cpuCount, 2);
  });

  it("SetTimeout, PauseSandbox, ResumeSandbox (with and without a timeout)", async () => {
    const set = await h.client.setTimeout({ sandboxId: "sbx1", timeoutMs: 5000 });
    assert.deepEqual(h.fake.calls.at(-1), ["setTimeout", "sbx1", 5000]);
    assert.ok(set.sandbox?.endAt);
    assert.equal(timestampDate(set.sandbox.endAt).toISOString(), "2031-01-01T00:00:05.000Z");

    const paused = await h.client.pauseSandbox({ sandboxId: "sbx1" });
    assert.equal(paused.sandbox?.state, SandboxState.PAUSED);

    const resumed = await h.client.resumeSandbox({ sandboxId: "sbx1", timeoutMs: 30_000 });
    assert.equal(resumed.sandbox?.state, SandboxState.RUNNING);
    assert.deepEqual(h.fake.calls.at(-1), ["resume", "sbx1", 30_000]);
    await h.client.resumeSandbox({ sandboxId: "sbx1" });
    assert.deepEqual(h.fake.calls.at(-1), ["resume", "sbx1", undefined]);
  });

  it("ResolveRoute", async () => {
    await h.client.pauseSandbox({ sandboxId: "sbx2" });
    const route = await h.client.resolveRoute({ sandboxId: "sbx2", port: 8080 });
    assert.equal(route.sandboxId, "sbx2");
    assert.equal(route.state, SandboxState.PAUSED);
    assert.equal(route.address, "10.11.0.2:8080");
  });

  it("KillSandbox", async () => {
    await h.client.killSandbox({ sandboxId: "sbx2" });
    assert.deepEqual(h.fake.calls.at(-1), ["kill", "sbx2"]);
    assert.equal(h.fake.sandboxes.has("sbx2"), false);
  });

  it("GetNodeInfo", async () => {
    const info = await h.client.getNodeInfo({});
    assert.equal(info.nodeId, "node-a");
    assert.equal(info.version, "0.1.0");
    assert.equal(info.runtime, "crun 1.8.1");
    assert.equal(info.cgroupMode, "v2");
    assert.equal(info.capacity?.cpuCount, 16);
    assert.equal(info.capacity?.memoryBytes, 64n * 2n ** 30n);
    assert.equal(info.capacity?.sandboxCount, 3);
  });

  it("serves Connect JSON to plain HTTP clients (the curl path)", async () => {
    const res = await fetch(`${h.baseUrl}/nodeapi.v1.NodeService/GetSandbox`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ sandboxId: "sbx1" }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { sandbox: Record<string, unknown> };
    assert.equal(body.sandbox.state, "SANDBOX_STATE_RUNNING");
    assert.equal(body.sandbox.startedAt, "2030-01-02T03:04:05.678Z");
    assert.equal(body.sandbox.memoryMb, 1024);
  });
});

describe("node API errors", () => {
  let h: Harness;
  before(async () => (h = await startHarness()));
  after(() => h.server.close());

  it("a missing or wrong secret is unauthenticated, on unary and streaming calls", async () => {
    const wrong = createNodeClient({ baseUrl: h.baseUrl, secret: "not-it" });
    const wrongPrefix = createNodeClient({ baseUrl: h.baseUrl, secret: `${SECRET}x` });
    await rejectsWith(wrong.listSandboxes({}), Code.Unauthenticated);
    await rejectsWith(wrongPrefix.listSandboxes({}), Code.Unauthenticated);
    await rejectsWith(
      (async () => {
        for await (const _ of wrong.watchEvents({})) assert.fail("no events without auth");
      })(),
      Code.Unauthenticated,
    );
    const res = await fetch(`${h.baseUrl}/nodeapi.v1.NodeService/ListSandboxes`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { code: "unauthenticated", message: "missing or wrong node API secret" });
    assert.equal(res.headers.get("cove-error-code"), "unauthenticated");
  });

  it("NodeError not_found becomes NotFound with its message and node code", async () => {
    const err = await rejectsWith(h.client.getSandbox({ sandboxId: "nope" }), Code.NotFound);
    assert.equal(err.rawMessage, "sandbox nope not found");
    assert.equal(err.metadata.get("cove-error-code"), "not_found");
  });

  it("an unexpected error becomes a bare internal; its text goes to the log only", async () => {
    const err = await rejectsWith(h.client.getSandbox({ sandboxId: "explode" }), Code.Internal);
    assert.equal(err.rawMessage, "internal error");
    assert.ok(!JSON.stringify(err).includes(INTERNAL_TEXT));
    assert.equal(err.metadata.get("cove-error-code"), null);
    const entry = h.logged.at(-1);
    assert.ok(entry);
    assert.equal((entry.details as { rpc: string }).rpc, "GetSandbox");
    assert.match(String((entry.details as { err: unknown }).err), /exploded/);
  });
});

describe("node API WatchEvents", () => {
  it("delivers events pushed after subscribing and ends on client abort", async () => {
    const h = await startHarness();
    try {
      const sandbox = await h.fake.service.create({ templateId: "base", timeoutMs: 1000 });
      const abort = new AbortController();
      const received: Array<{ type: SandboxEventType; reason: SandboxEventReason; message?: string; state?: SandboxState }> = [];
      const reading = (async () => {
        for await (const { event } of h.client.watchEvents({}, { signal: abort.signal })) {
          assert.ok(event);
          assert.equal(event.sandboxId, sandbox.sandboxId);
          assert.equal(event.sandbox?.sandboxId, sandbox.sandboxId);
          assert.ok(event.at);
          assert.equal(timestampDate(event.at).toISOString(), "2030-05-05T00:00:00.000Z");
          received.push({ type: event.type, reason: event.reason, message: event.message, state: event.sandbox?.state });
          if (received.length === 2) abort.abort();
        }
      })();
      await until(() => h.fake.subscribers.size === 1, "the server to subscribe");
      const at = "2030-05-05T00:00:00.000Z";
      h.fake.emit({ type: "created", sandboxId: sandbox.sandboxId, at, sandbox });
      h.fake.emit({
        type: "killed",
        sandboxId: sandbox.sandboxId,
        at,
        reason: "error",
        message: "envd did not start",
        sandbox: { ...sandbox, state: "stopped" },
      });
      await rejectsWith(reading, Code.Canceled);
      assert.deepEqual(received, [
        { type: SandboxEventType.CREATED, reason: SandboxEventReason.UNSPECIFIED, message: undefined, state: SandboxState.RUNNING },
        { type: SandboxEventType.KILLED, reason: SandboxEventReason.ERROR, message: "envd did not start", state: SandboxState.STOPPED },
      ]);
      // The server noticed the client left: the service's signal aborted and it unsubscribed.
      await until(() => h.fake.subscribers.size === 0, "the server to unsubscribe");
    } finally {
      await h.server.close();
    }
  });

  it("server close() ends open streams and returns promptly", async () => {
    const h = await startHarness();
    const reading = (async () => {
      for await (const _ of h.client.watchEvents({})) assert.fail("no events were pushed");
    })();
    await until(() => h.fake.subscribers.size === 1, "the server to subscribe");
    const started = performance.now();
    await h.server.close();
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `close took ${elapsed.toFixed(0)} ms`);
    // The server finished the stream before cutting connections: a clean end, no error.
    await reading;
    assert.equal(h.fake.subscribers.size, 0);
  });
});

describe("node API close", () => {
  it("lets a unary call in flight finish", async () => {
    const h = await startHarness();
    h.fake.slowCreates(300);
    const creating = h.client.createSandbox({ templateId: "base", timeoutMs: 1000 });
    await until(() => h.fake.calls.length === 1, "the create to reach the service");
    await h.server.close();
    const { sandbox } = await creating;
    assert.equal(sandbox?.sandboxId, "sbx1");
  });
});

describe("bearerToken", () => {
  const cases: Array<[string | null, string | undefined]> = [
    [null, undefined],
    ["", undefined],
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["Bearer   abc  ", "abc"],
    ["Basic abc", undefined],
    ["Bearer", undefined],
    ["Bearer a b", undefined],
  ];
  for (const [header, expected] of cases) {
    it(JSON.stringify(header), () => assert.equal(bearerToken(header), expected));
  }
});
