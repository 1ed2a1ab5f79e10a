// An in-memory node for the api's in-process tests: the node's Connect service served through
// connect-es's router transport (no sockets), with knobs to hold or fail calls and to make the
// node cause changes itself (timeouts, auto-pauses, crashes), as the real node's reaper does.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport, type ServiceImpl } from "@connectrpc/connect";
import {
  type BuildTemplateRequest,
  NodeService,
  SandboxEventReason,
  SandboxEventSchema,
  SandboxEventType,
  SandboxSchema,
  SandboxState,
  type Sandbox,
  type SandboxEvent,
} from "@cove/protocol/nodeapi";
import type { NodeClient } from "@cove/protocol/nodeapi-client";

export type NodeMethod = keyof ServiceImpl<typeof NodeService>;
export type Phase = "before" | "after";

export interface FakeSandbox {
  id: string;
  templateId: string;
  state: "running" | "paused";
  startedAt: Date;
  endAt: Date;
  autoPause: boolean;
  envdAccessToken: string | undefined;
  /** Bumped by every resume: the sandbox may come back at another address. */
  epoch: number;
  /** Index used for its addresses. */
  slot: number;
}

/** A held method: calls wait at the gate until `release`. */
export interface Gate {
  /** Resolves once `n` calls have arrived (and are waiting). */
  reached(n: number): Promise<void>;
  release(): void;
}

export interface FakeNode {
  client: NodeClient;
  sandboxes: Map<string, FakeSandbox>;
  /** Template builds the node keeps records of (GetTemplateBuild answers from these, by build id; owner checked). */
  templateBuilds: Map<string, { templateId: string; owner: string; status: string; logs: string[]; failure?: string }>;
  /** Calls per method, counted on arrival. */
  calls: Partial<Record<NodeMethod, number>>;
  /** Every BuildTemplate request, as the node got it. */
  buildRequests: BuildTemplateRequest[];
  /** Most sandboxes running at once, ever. */
  maxRunning: number;
  /** Open WatchEvents streams. */
  watchers(): number;
  /**
   * Holds every call of `method` until released: "before" it acts (the default), or "after"
   * it acted and published its events but before the caller gets the answer.
   */
  hold(method: NodeMethod, phase?: Phase): Gate;
  /** The next `times` calls of `method` fail with `err`, before acting. */
  failNext(method: NodeMethod, err: ConnectError, times?: number): void;
  /** started_at of the next creates; default the wall clock. */
  startedAt: () => Date;
  /** The node's reaper: a kill at the deadline (reason timeout), or a pause with autoPause. */
  expire(id: string): void;
  /** The runtime lost the sandbox (reason error, with a message). */
  crash(id: string, message: string): void;
  /** The node pauses or resumes on its own (an operator, the node CLI). */
  pauseByNode(id: string): void;
  resumeByNode(id: string): void;
  /** Forgets a sandbox without any event (a node restart that lost it). */
  vanish(id: string): void;
  /** The route address the node gives for a sandbox port now. */
  addressOf(id: string, port: number): string;
  /** Adds a resource sample that ListMetrics hands out (fields not given are small defaults). */
  sample(id: string, at: Date, fields?: Partial<Omit<MetricSample, "sandboxId" | "at">>): void;
}

export interface MetricSample {
  sandboxId: string;
  at: Date;
  cpuCount: number;
  cpuUsedPct: number;
  memUsedBytes: bigint;
  memTotalBytes: bigint;
  memCacheBytes: bigint;
  diskUsedBytes: bigint;
  diskTotalBytes: bigint;
}

const notFound = (id: string) => new ConnectError(`sandbox '${id}' not found`, Code.NotFound);

export function createFakeNode(): FakeNode {
  const sandboxes = new Map<string, FakeSandbox>();
  const templateBuilds: FakeNode["templateBuilds"] = new Map();
  const calls: Partial<Record<NodeMethod, number>> = {};
  const gates = new Map<string, { arrived: number; waiters: { n: number; resolve: () => void }[]; open: Promise<void>; release: () => void }>();
  const failures = new Map<NodeMethod, { err: ConnectError; times: number }>();
  const watchers = new Set<{ push(e: SandboxEvent): void }>();
  const samples: { seq: bigint; sample: MetricSample }[] = [];
  let seq = 0;

  const addressOf = (s: FakeSandbox, port: number) => `10.${s.epoch % 250}.${Math.floor(s.slot / 250)}.${s.slot % 250}:${port}`;

  function view(s: FakeSandbox): Sandbox {
    return create(SandboxSchema, {
      sandboxId: s.id,
      templateId: s.templateId,
      state: s.state === "running" ? SandboxState.RUNNING : SandboxState.PAUSED,
      cpuCount: 2,
      memoryMb: 512,
      diskMb: 1024,
      startedAt: timestampFromDate(s.startedAt),
      endAt: timestampFromDate(s.endAt),
      autoPause: s.autoPause,
      envdVersion: "0.6.13",
      envdAddress: addressOf(s, 49983),
    });
  }

  function emit(type: SandboxEventType, s: FakeSandbox, reason: SandboxEventReason, message?: string): void {
    const event = create(SandboxEventSchema, {
      type,
      sandboxId: s.id,
      at: timestampFromDate(new Date()),
      reason,
      ...(message !== undefined ? { message } : {}),
      sandbox: view(s),
    });
    for (const w of watchers) w.push(event);
  }

  function running(): number {
    let n = 0;
    for (const s of sandboxes.values()) if (s.state === "running") n++;
    return n;
  }

  // Every call passes here first: counted, then failed or held as the test asked.
  async function enter(method: NodeMethod): Promise<void> {
    calls[method] = (calls[method] ?? 0) + 1;
    const failure = failures.get(method);
    if (failure !== undefined) {
      if (--failure.times <= 0) failures.delete(method);
      throw failure.err;
    }
    await pass(method, "before");
  }

  async function pass(method: NodeMethod, phase: Phase): Promise<void> {
    const gate = gates.get(`${method}:${phase}`);
    if (gate !== undefined) {
      gate.arrived++;
      for (const w of gate.waiters.filter((x) => gate.arrived >= x.n)) w.resolve();
      await gate.open;
    }
  }

  function get(id: string): FakeSandbox {
    const s = sandboxes.get(id);
    if (s === undefined) throw notFound(id);
    return s;
  }

  function kill(s: FakeSandbox, reason: SandboxEventReason, message?: string): void {
    sandboxes.delete(s.id);
    emit(SandboxEventType.KILLED, s, reason, message);
  }

  function pause(s: FakeSandbox, reason: SandboxEventReason): void {
    if (s.state === "paused") throw new ConnectError(`sandbox '${s.id}' is already paused`, Code.FailedPrecondition);
    s.state = "paused";
    emit(SandboxEventType.PAUSED, s, reason);
  }

  function resume(s: FakeSandbox, timeoutMs: number | undefined): void {
    if (s.state === "running") throw new ConnectError(`sandbox '${s.id}' is already running`, Code.FailedPrecondition);
    s.state = "running";
    s.epoch++;
    if (timeoutMs !== undefined) s.endAt = new Date(Date.now() + timeoutMs);
    fake.maxRunning = Math.max(fake.maxRunning, running());
    emit(SandboxEventType.RESUMED, s, SandboxEventReason.UNSPECIFIED);
  }

  // Events are published in the operation, before the caller gets its answer, as the real node does.
  const impl: ServiceImpl<typeof NodeService> = {
    async createSandbox(req) {
      await enter("createSandbox");
      seq++;
      const s: FakeSandbox = {
        id: `fake${String(seq).padStart(6, "0")}`,
        templateId: req.templateId,
        state: "running",
        startedAt: fake.startedAt(),
        endAt: new Date(Date.now() + req.timeoutMs),
        autoPause: req.autoPause ?? false,
        envdAccessToken: req.envdAccessToken,
        epoch: 1,
        slot: seq,
      };
      sandboxes.set(s.id, s);
      fake.maxRunning = Math.max(fake.maxRunning, running());
      emit(SandboxEventType.CREATED, s, SandboxEventReason.UNSPECIFIED);
      await pass("createSandbox", "after");
      return { sandbox: view(s) };
    },
    async listSandboxes() {
      await enter("listSandboxes");
      return { sandboxes: [...sandboxes.values()].map(view) };
    },
    async getSandbox(req) {
      await enter("getSandbox");
      return { sandbox: view(get(req.sandboxId)) };
    },
    async killSandbox(req) {
      await enter("killSandbox");
      kill(get(req.sandboxId), SandboxEventReason.REQUEST);
      await pass("killSandbox", "after");
      return {};
    },
    async setTimeout(req) {
      await enter("setTimeout");
      const s = get(req.sandboxId);
      s.endAt = new Date(Date.now() + req.timeoutMs);
      return { sandbox: view(s) };
    },
    async pauseSandbox(req) {
      await enter("pauseSandbox");
      const s = get(req.sandboxId);
      pause(s, SandboxEventReason.REQUEST);
      const answer = { sandbox: view(s) };
      await pass("pauseSandbox", "after");
      return answer;
    },
    async resumeSandbox(req) {
      await enter("resumeSandbox");
      const s = get(req.sandboxId);
      resume(s, req.timeoutMs);
      const answer = { sandbox: view(s) };
      await pass("resumeSandbox", "after");
      return answer;
    },
    async resolveRoute(req) {
      await enter("resolveRoute");
      const s = get(req.sandboxId);
      const answer = { sandboxId: s.id, state: view(s).state, address: addressOf(s, req.port) };
      await pass("resolveRoute", "after");
      return answer;
    },
    async *watchEvents(_req, ctx) {
      calls.watchEvents = (calls.watchEvents ?? 0) + 1;
      const queue: SandboxEvent[] = [];
      let wake: (() => void) | undefined;
      const watcher = {
        push(e: SandboxEvent) {
          queue.push(e);
          wake?.();
        },
      };
      const aborted = new Promise<void>((r) => ctx.signal.addEventListener("abort", () => r(), { once: true }));
      watchers.add(watcher);
      try {
        while (!ctx.signal.aborted) {
          const next = queue.shift();
          if (next !== undefined) {
            yield { event: next };
            continue;
          }
          await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
          wake = undefined;
        }
      } finally {
        watchers.delete(watcher);
      }
    },
    async getNodeInfo() {
      await enter("getNodeInfo");
      return {
        nodeId: "fake",
        version: "0.0.0",
        runtime: "fake",
        cgroupMode: "v2",
        capacity: { cpuCount: 2, memoryBytes: 4n << 30n, sandboxCount: sandboxes.size },
      };
    },
    async listTemplates() {
      await enter("listTemplates");
      return {
        templates: [
          {
            templateId: "base",
            builtAt: timestampFromDate(new Date("2026-01-01T00:00:00Z")),
            cpuCount: 2,
            memoryMb: 512,
            diskMb: 1024,
            public: true,
            tags: [{ tag: "default", buildId: "" }],
          },
        ],
      };
    },
    async getWarmPool() {
      await enter("getWarmPool");
      return {};
    },
    async listMetrics(req) {
      await enter("listMetrics");
      const out = samples.filter((x) => x.seq > req.after);
      return {
        samples: out.map(({ sample: m }) => ({ ...m, at: timestampFromDate(m.at) })),
        cursor: samples.at(-1)?.seq ?? req.after,
      };
    },
    async deleteTemplate() {
      throw new ConnectError("the fake node has no templates to delete", Code.Unimplemented);
    },
    async assignTemplateTags() {
      throw new ConnectError("the fake node has no templates to tag", Code.Unimplemented);
    },
    async removeTemplateTags() {
      throw new ConnectError("the fake node has no templates to tag", Code.Unimplemented);
    },
    async getTemplateBuild(req) {
      const b = templateBuilds.get(req.buildId);
      if (!b || (req.owner !== undefined && req.owner !== b.owner)) throw new ConnectError(`template build '${req.buildId}' not found`, Code.NotFound);
      const limit = req.logsLimit ?? 100;
      return {
        build: {
          buildId: req.buildId,
          templateId: b.templateId,
          status: b.status,
          owner: b.owner,
          ...(b.failure ? { failure: { code: "step_failed", message: b.failure, step: "2", tail: [] } } : {}),
        },
        logs: b.logs.slice(req.logsOffset, req.logsOffset + limit).map((message) => ({ level: "info", message, timestamp: timestampFromDate(new Date()) })),
        logsTotal: b.logs.length,
      };
    },
    async listTemplateBuilds() {
      return { builds: [] };
    },
    async setTemplatePublic() {
      throw new ConnectError("the fake node has no templates to publish", Code.Unimplemented);
    },
    // Builds need a real node (build sandboxes); the api's fake only keeps what it was asked.
    // biome-ignore lint/correctness/useYield: answers before its first message
    async *buildTemplate(req) {
      fake.buildRequests.push(req);
      throw new ConnectError("the fake node does not build templates", Code.Unimplemented);
    },
  };

  const transport = createRouterTransport(({ service }) => service(NodeService, impl));

  const fake: FakeNode = {
    templateBuilds,
    buildRequests: [],
    client: createClient(NodeService, transport),
    sandboxes,
    calls,
    maxRunning: 0,
    watchers: () => watchers.size,
    hold(method, phase = "before") {
      let release!: () => void;
      const open = new Promise<void>((r) => (release = r));
      const gate = { arrived: 0, waiters: [] as { n: number; resolve: () => void }[], open, release };
      const name = `${method}:${phase}`;
      gates.set(name, gate);
      return {
        reached: (n) => (gate.arrived >= n ? Promise.resolve() : new Promise<void>((resolve) => gate.waiters.push({ n, resolve }))),
        release() {
          if (gates.get(name) === gate) gates.delete(name);
          gate.release();
        },
      };
    },
    failNext(method, err, times = 1) {
      failures.set(method, { err, times });
    },
    startedAt: () => new Date(),
    expire(id) {
      const s = get(id);
      if (s.autoPause) pause(s, SandboxEventReason.TIMEOUT);
      else kill(s, SandboxEventReason.TIMEOUT);
    },
    crash(id, message) {
      kill(get(id), SandboxEventReason.ERROR, message);
    },
    pauseByNode: (id) => pause(get(id), SandboxEventReason.REQUEST),
    resumeByNode: (id) => resume(get(id), undefined),
    vanish(id) {
      sandboxes.delete(id);
    },
    addressOf: (id, port) => addressOf(get(id), port),
    sample(id, at, f = {}) {
      samples.push({
        seq: BigInt(samples.length + 1),
        sample: {
          sandboxId: id,
          at,
          cpuCount: f.cpuCount ?? 2,
          cpuUsedPct: f.cpuUsedPct ?? 12.5,
          memUsedBytes: f.memUsedBytes ?? 100n << 20n,
          memTotalBytes: f.memTotalBytes ?? 512n << 20n,
          memCacheBytes: f.memCacheBytes ?? 10n << 20n,
          diskUsedBytes: f.diskUsedBytes ?? 200n << 20n,
          diskTotalBytes: f.diskTotalBytes ?? 1024n << 20n,
        },
      });
    },
  };
  return fake;
}
