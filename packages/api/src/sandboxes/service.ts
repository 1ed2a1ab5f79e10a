import { randomBytes, timingSafeEqual } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Sandbox as NodeSandbox } from "@cove/protocol/nodeapi";
import { SandboxState } from "@cove/protocol/nodeapi";
import type { NodeClient } from "@cove/protocol/nodeapi-client";
import { signFileAccess } from "@cove/protocol/signing";
import type { Logger } from "pino";
import type { Team } from "../auth/keys.js";
import { ApiError, invalid, notFound } from "../errors.js";
import { connectEnvd, type EnvdSession } from "./envd.js";
import { fromNodeError, isNodeNotFound } from "./node-errors.js";
import type { EventReason, ListQuery, SandboxRow, SandboxStore } from "./store.js";

const ENVD_PORT = 49983;

export interface CreateParams {
  templateId: string;
  timeoutSeconds: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  allowInternetAccess: boolean;
  autoPause: boolean;
  autoResume: boolean;
  /** Issue an envd access token (v2 creates always do). */
  secure: boolean;
  /** false: the proxy requires a traffic access token on non-envd ports. */
  allowPublicTraffic: boolean;
}

export interface SandboxServiceOptions {
  store: SandboxStore;
  node: NodeClient;
  logger: Logger;
  /** Concurrent running sandboxes per team unless the team has its own limit. */
  defaultSandboxLimit: number;
  /** Longest lifetime a caller may ask for, in seconds. */
  maxTimeoutSeconds: number;
}

/** How long the proxy may reuse a route; every state change through this service drops it at once. */
const ROUTE_TTL_MS = 5000;

type CachedRoute = { address: string; state: string; trafficAccessToken?: string };

/** How many of something are in flight per key; keys at zero are dropped. */
function createCounts() {
  const counts = new Map<string, number>();
  return {
    get: (key: string) => counts.get(key) ?? 0,
    add: (key: string) => void counts.set(key, (counts.get(key) ?? 0) + 1),
    remove(key: string) {
      const n = (counts.get(key) ?? 1) - 1;
      if (n <= 0) counts.delete(key);
      else counts.set(key, n);
    },
  };
}

/**
 * What the api does with sandboxes: the node does the work, the store keeps
 * the team's record. Whoever causes a lifecycle change writes its event; the
 * event sync writes the ones the node causes itself (timeouts, errors).
 */
export function createSandboxService(options: SandboxServiceOptions) {
  const { node, logger } = options;
  // Per-request lookups (a database read and a node RPC) would halve the proxy's throughput.
  const routes = new Map<string, Map<number, { route: CachedRoute; expires: number }>>();
  // Bumped by every invalidation: a lookup that overlapped one is not cached (it may be stale).
  let generation = 0;
  const invalidate = (sandboxId: string) => {
    routes.delete(sandboxId);
    generation++;
  };
  // Every state change goes through update or markKilled: both drop the sandbox's routes, before and after.
  const store: SandboxStore = {
    ...options.store,
    async update(sandboxId, fields) {
      invalidate(sandboxId);
      await options.store.update(sandboxId, fields);
      invalidate(sandboxId);
    },
    async markKilled(sandboxId, at) {
      invalidate(sandboxId);
      const changed = await options.store.markKilled(sandboxId, at);
      invalidate(sandboxId);
      return changed;
    },
  };

  async function lookupRoute(sandboxId: string, port: number): Promise<CachedRoute | undefined> {
    const row = await store.getActive(sandboxId);
    if (row === undefined) return undefined;
    let res;
    try {
      res = await node.resolveRoute({ sandboxId, port });
    } catch (err) {
      if (isNodeNotFound(err)) return undefined;
      throw err;
    }
    const state = res.state === SandboxState.RUNNING ? "running" : res.state === SandboxState.PAUSED ? "paused" : "stopped";
    return { address: res.address, state, ...(row.traffic_access_token ? { trafficAccessToken: row.traffic_access_token } : {}) };
  }
  // Creates admitted but not yet recorded, per team; counted against the limit.
  const pending = createCounts();
  // Admission runs one at a time per team so two creates cannot both take the last slot.
  const admission = new Map<string, Promise<void>>();

  function checkTimeout(seconds: number): number {
    if (!Number.isInteger(seconds) || seconds < 0) throw invalid("timeout must be a whole number of seconds, 0 or more");
    if (seconds > options.maxTimeoutSeconds) throw invalid(`timeout must be at most ${options.maxTimeoutSeconds} seconds`);
    return seconds;
  }

  async function admit(team: Team): Promise<void> {
    const previous = admission.get(team.id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chain = previous.then(() => mine);
    admission.set(team.id, chain);
    await previous;
    try {
      const limit = team.sandboxLimit ?? options.defaultSandboxLimit;
      const used = (await store.countRunning(team.id)) + pending.get(team.id);
      if (used >= limit) {
        throw new ApiError("rate_limited", `team has reached its limit of ${limit} concurrent sandboxes`, { retryAfterSeconds: 1 });
      }
      pending.add(team.id);
    } finally {
      release();
      if (admission.get(team.id) === chain) admission.delete(team.id);
    }
  }

  async function requireRow(team: Team, sandboxId: string): Promise<SandboxRow> {
    const row = await store.get(team.id, sandboxId);
    if (row === undefined) throw notFound("sandbox", sandboxId);
    return row;
  }

  /** The node lost a sandbox its record says is alive: close the record. */
  async function lost(row: SandboxRow, message: string): Promise<void> {
    if (await store.markKilled(row.sandbox_id, new Date())) {
      await store.addEvent({ sandboxId: row.sandbox_id, teamId: row.team_id, type: "killed", reason: "error", message });
    }
  }

  async function nodeCall<T>(row: SandboxRow, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (isNodeNotFound(err)) {
        await lost(row, "the node no longer has this sandbox");
        throw notFound("sandbox", row.sandbox_id);
      }
      throw fromNodeError(err);
    }
  }

  function applyNode(s: NodeSandbox) {
    return {
      state: s.state === SandboxState.PAUSED ? ("paused" as const) : ("running" as const),
      ...(s.endAt ? { endAt: timestampDate(s.endAt) } : {}),
    };
  }

  async function create(team: Team, p: CreateParams): Promise<SandboxRow> {
    const started = performance.now();
    checkTimeout(p.timeoutSeconds);
    await admit(team);
    try {
      const envdAccessToken = p.secure ? randomBytes(24).toString("hex") : undefined;
      const trafficAccessToken = p.allowPublicTraffic ? null : randomBytes(24).toString("hex");
      let created: NodeSandbox;
      try {
        const res = await node.createSandbox({
          templateId: p.templateId,
          timeoutMs: p.timeoutSeconds * 1000,
          envVars: p.envVars,
          metadata: p.metadata,
          allowInternetAccess: p.allowInternetAccess,
          autoPause: p.autoPause,
          ...(envdAccessToken !== undefined ? { envdAccessToken } : {}),
        });
        if (res.sandbox === undefined) throw new Error("node returned no sandbox");
        created = res.sandbox;
      } catch (err) {
        throw fromNodeError(err, "sandbox_create_failed");
      }
      const row: SandboxRow = {
        sandbox_id: created.sandboxId,
        team_id: team.id,
        template_id: created.templateId || p.templateId,
        metadata: p.metadata,
        envd_access_token: envdAccessToken ?? null,
        started_at: created.startedAt ? timestampDate(created.startedAt) : new Date(),
        end_at: created.endAt ? timestampDate(created.endAt) : new Date(Date.now() + p.timeoutSeconds * 1000),
        state: "running",
        cpu_count: created.cpuCount,
        memory_mb: created.memoryMb,
        disk_mb: created.diskMb,
        created_at: new Date(),
        killed_at: null,
        envd_version: created.envdVersion || "0.6.13",
        auto_pause: p.autoPause,
        auto_resume: p.autoResume,
        allow_internet_access: p.allowInternetAccess,
        traffic_access_token: trafficAccessToken,
      };
      try {
        const { created_at: _c, killed_at: _k, ...insert } = row;
        await store.insert(insert);
        // The SDK's next request goes to envd: the node already said where it is.
        if (created.envdAddress) {
          const route: CachedRoute = { address: created.envdAddress, state: "running", ...(trafficAccessToken ? { trafficAccessToken } : {}) };
          routes.set(row.sandbox_id, new Map([[ENVD_PORT, { route, expires: Date.now() + ROUTE_TTL_MS }]]));
        }
      } catch (err) {
        // No record means nobody could ever reach or kill it: do not leave it running.
        logger.error({ err, sandboxId: row.sandbox_id }, "recording a new sandbox failed; killing it");
        await node.killSandbox({ sandboxId: row.sandbox_id }).catch(() => undefined);
        throw new ApiError("internal", "the sandbox could not be recorded", { cause: err });
      }
      logger.info({ sandboxId: row.sandbox_id, teamId: team.id, templateId: row.template_id, ms: Math.round(performance.now() - started) }, "sandbox created");
      return row;
    } finally {
      pending.remove(team.id);
    }
  }

  async function kill(team: Team, sandboxId: string): Promise<void> {
    const row = await requireRow(team, sandboxId);
    try {
      await node.killSandbox({ sandboxId });
    } catch (err) {
      if (!isNodeNotFound(err)) throw fromNodeError(err);
    }
    if (await store.markKilled(sandboxId, new Date())) {
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "killed", reason: "request" });
    }
    logger.info({ sandboxId, teamId: row.team_id }, "sandbox killed");
  }

  async function setTimeout(team: Team, sandboxId: string, seconds: number): Promise<SandboxRow> {
    checkTimeout(seconds);
    const row = await requireRow(team, sandboxId);
    const res = await nodeCall(row, () => node.setTimeout({ sandboxId, timeoutMs: seconds * 1000 }));
    if (res.sandbox) await store.update(sandboxId, applyNode(res.sandbox));
    return requireRow(team, sandboxId);
  }

  // Sandboxes this api is pausing or resuming right now: it writes those events itself, so
  // the node's echo of them must not be written twice.
  const acting = createCounts();
  async function acts<T>(sandboxId: string, fn: () => Promise<T>): Promise<T> {
    acting.add(sandboxId);
    try {
      return await fn();
    } finally {
      acting.remove(sandboxId);
    }
  }

  async function pause(team: Team, sandboxId: string): Promise<void> {
    const row = await requireRow(team, sandboxId);
    if (row.state === "paused") throw new ApiError("conflict", `sandbox '${sandboxId}' is already paused`);
    await acts(sandboxId, async () => {
      const res = await nodeCall(row, () => node.pauseSandbox({ sandboxId }));
      await store.update(sandboxId, res.sandbox ? applyNode(res.sandbox) : { state: "paused" });
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "paused", reason: "request" });
    });
    logger.info({ sandboxId, teamId: row.team_id }, "sandbox paused");
  }

  async function resume(row: SandboxRow, timeoutSeconds: number | undefined, reason: string): Promise<SandboxRow> {
    return acts(row.sandbox_id, async () => {
      const res = await nodeCall(row, () =>
        node.resumeSandbox({ sandboxId: row.sandbox_id, ...(timeoutSeconds !== undefined ? { timeoutMs: timeoutSeconds * 1000 } : {}) }),
      );
      await store.update(row.sandbox_id, res.sandbox ? applyNode(res.sandbox) : { state: "running" });
      await store.addEvent({ sandboxId: row.sandbox_id, teamId: row.team_id, type: "resumed", reason: "request", message: reason });
      logger.info({ sandboxId: row.sandbox_id, teamId: row.team_id, via: reason }, "sandbox resumed");
      return (await store.getActive(row.sandbox_id)) ?? row;
    });
  }

  return {
    create,
    kill,
    setTimeout,
    pause,

    get: requireRow,

    list: (team: Team, q: ListQuery) => store.list(team.id, q),

    /** Deprecated resume: 409 when running. */
    async resume(team: Team, sandboxId: string, timeoutSeconds: number | undefined): Promise<SandboxRow> {
      if (timeoutSeconds !== undefined) checkTimeout(timeoutSeconds);
      const row = await requireRow(team, sandboxId);
      if (row.state === "running") throw new ApiError("conflict", `sandbox '${sandboxId}' is already running`);
      return resume(row, timeoutSeconds, "resume");
    },

    /** Resumes a paused sandbox; for a running one only ever extends its lifetime. */
    async connect(team: Team, sandboxId: string, timeoutSeconds: number): Promise<{ row: SandboxRow; resumed: boolean }> {
      checkTimeout(timeoutSeconds);
      const row = await requireRow(team, sandboxId);
      if (row.state === "paused") return { row: await resume(row, timeoutSeconds, "connect"), resumed: true };
      if (Date.now() + timeoutSeconds * 1000 > row.end_at.getTime()) return { row: await setTimeout(team, sandboxId, timeoutSeconds), resumed: false };
      return { row, resumed: false };
    },

    /** Extends (never shortens) the lifetime to `seconds` from now. */
    async refresh(team: Team, sandboxId: string, seconds: number): Promise<void> {
      checkTimeout(seconds);
      const row = await requireRow(team, sandboxId);
      if (Date.now() + seconds * 1000 > row.end_at.getTime()) await setTimeout(team, sandboxId, seconds);
    },

    /** A session with the sandbox's envd, at the address the node routes to (single host: reachable from here). */
    async envd(row: SandboxRow): Promise<EnvdSession> {
      const res = await nodeCall(row, () => node.resolveRoute({ sandboxId: row.sandbox_id, port: ENVD_PORT }));
      if (res.state !== SandboxState.RUNNING) throw new ApiError("conflict", `sandbox '${row.sandbox_id}' is not running`);
      return connectEnvd(res.address, row.envd_access_token);
    },

    async events(team: Team, sandboxId: string) {
      if (!(await store.exists(team.id, sandboxId))) throw notFound("sandbox", sandboxId);
      return store.events(team.id, sandboxId);
    },

    /** For the proxy: the route plus the sandbox's traffic token; undefined when unknown. */
    async route(sandboxId: string, port: number): Promise<CachedRoute | undefined> {
      const cached = routes.get(sandboxId)?.get(port);
      if (cached !== undefined && cached.expires > Date.now()) return cached.route;
      const gen = generation;
      const route = await lookupRoute(sandboxId, port);
      // Only running routes are cached, and only if no state change happened meanwhile.
      if (route?.state === "running" && generation === gen) {
        let ports = routes.get(sandboxId);
        if (ports === undefined) routes.set(sandboxId, (ports = new Map()));
        ports.set(port, { route, expires: Date.now() + ROUTE_TTL_MS });
      }
      return route;
    },

    /** For the proxy: traffic reached a paused sandbox; resume it if it asked for that. */
    async wake(sandboxId: string): Promise<boolean> {
      const row = await store.getActive(sandboxId);
      if (row === undefined || !row.auto_resume) return false;
      if (row.state === "running") return true;
      try {
        await resume(row, undefined, "traffic");
        return true;
      } catch (err) {
        logger.warn({ err, sandboxId }, "auto-resume failed");
        return false;
      }
    },

    /** The event sync's entry: state the node reports for a sandbox. */
    async applyNodeState(sandboxId: string, s: NodeSandbox): Promise<void> {
      await store.update(sandboxId, applyNode(s));
    },

    async recordNodeKill(sandboxId: string, reason: EventReason, message: string | undefined, at: Date): Promise<void> {
      const row = await store.getActive(sandboxId);
      if (row === undefined) return;
      if (await store.markKilled(sandboxId, at)) {
        await store.addEvent({ sandboxId, teamId: row.team_id, type: "killed", reason, ...(message ? { message } : {}), at });
        logger.info({ sandboxId, teamId: row.team_id, reason, ...(message ? { detail: message } : {}) }, "sandbox killed by the node");
      }
    },

    async recordNodePause(sandboxId: string, s: NodeSandbox | undefined, reason: EventReason, at: Date): Promise<void> {
      if (acting.get(sandboxId) > 0) return;
      const row = await store.getActive(sandboxId);
      if (row === undefined || row.state === "paused") return;
      await store.update(sandboxId, s ? applyNode(s) : { state: "paused" });
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "paused", reason, at });
    },

    async recordNodeResume(sandboxId: string, s: NodeSandbox | undefined, at: Date): Promise<void> {
      if (acting.get(sandboxId) > 0) return;
      const row = await store.getActive(sandboxId);
      if (row === undefined || row.state === "running") return;
      await store.update(sandboxId, s ? applyNode(s) : { state: "running" });
      await store.addEvent({ sandboxId, teamId: row.team_id, type: "resumed", reason: "request", at });
    },

    /**
     * The sandbox a signed file URL belongs to (spec 2.5). Such URLs carry no sandbox id
     * when clients use one gateway URL, but only the holder of a sandbox's envd token can
     * sign, so the one whose token reproduces the signature is the target. envd checks the
     * signature (and its expiry) again; this only routes.
     */
    async findBySignedUrl(url: URL, method: string): Promise<string | undefined> {
      const signature = url.searchParams.get("signature");
      if (!signature?.startsWith("v1_")) return undefined;
      const expirationText = url.searchParams.get("signature_expiration");
      // envd would refuse a malformed expiration anyway; it reads a well-formed one as a number.
      if (expirationText !== null && !/^-?\d+$/.test(expirationText)) return undefined;
      const signed = {
        path: url.searchParams.get("path") ?? "",
        operation: method === "GET" || method === "HEAD" ? ("read" as const) : ("write" as const),
        username: url.searchParams.get("username") ?? "",
        expiration: expirationText === null ? undefined : Number(expirationText),
      };
      const wanted = Buffer.from(signature);
      for (const row of await store.listActive()) {
        if (!row.envd_access_token) continue;
        const candidate = Buffer.from(signFileAccess({ ...signed, accessToken: row.envd_access_token }));
        if (candidate.length === wanted.length && timingSafeEqual(candidate, wanted)) return row.sandbox_id;
      }
      return undefined;
    },

    lost,
  };
}

export type SandboxService = ReturnType<typeof createSandboxService>;
