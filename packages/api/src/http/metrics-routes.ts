import type { FastifyInstance } from "fastify";
import { invalid, notFound } from "../errors.js";
import type { MetricRow, MetricsStore } from "../metrics/store.js";
import { requireTeam } from "./auth.js";
import { body, optInt, optString, type Fields } from "./input.js";
import { SANDBOX_ID } from "./validate.js";

type Params = { sandboxID: string };

/** Unix seconds as far as a JS Date goes (about year 275760). */
const MAX_UNIX_SECONDS = 8_640_000_000_000;

/**
 * A range in unix seconds, inclusive of every instant a client could have rounded to its ends:
 * the SDK sends Math.round(ms / 1000), so `start` stands for [start - 0.5 s, …) and `end` covers
 * its whole second (clients that truncate too): [start - 0.5 s, end + 1 s).
 */
function range(q: Fields): { start?: Date; end?: Date } {
  const start = optInt(q, "start", 0, MAX_UNIX_SECONDS);
  const end = optInt(q, "end", 0, MAX_UNIX_SECONDS);
  if (start !== undefined && end !== undefined && end < start) throw invalid("end must not be before start");
  return {
    ...(start !== undefined ? { start: new Date(start * 1000 - 500) } : {}),
    ...(end !== undefined ? { end: new Date((end + 1) * 1000) } : {}),
  };
}

/** E2B's `SandboxMetric` (spec 3.3). */
function e2bMetric(m: MetricRow) {
  return {
    timestamp: m.at.toISOString(),
    timestampUnix: Math.floor(m.at.getTime() / 1000),
    cpuCount: m.cpuCount,
    cpuUsedPct: m.cpuUsedPct,
    memUsed: m.memUsed,
    memTotal: m.memTotal,
    memCache: m.memCache,
    diskUsed: m.diskUsed,
    diskTotal: m.diskTotal,
  };
}

/** The native API's sample: the same figures, named like the rest of /v1. */
function nativeMetric(m: MetricRow) {
  return {
    at: m.at.toISOString(),
    cpuCount: m.cpuCount,
    cpuUsedPct: m.cpuUsedPct,
    memUsedBytes: m.memUsed,
    memTotalBytes: m.memTotal,
    memCacheBytes: m.memCache,
    diskUsedBytes: m.diskUsed,
    diskTotalBytes: m.diskTotal,
  };
}

/**
 * A sandbox's resource history, from the samples the api collects from the node (every 5 s
 * while it runs; none while paused). Killed sandboxes keep theirs for the retention window.
 */
export function registerMetricsRoutes(app: FastifyInstance, store: MetricsStore): void {
  async function history(req: { params: Params; query: unknown }, team: { id: string }): Promise<MetricRow[]> {
    const { start, end } = range(body(req.query));
    if (!(await store.known(team.id, req.params.sandboxID))) throw notFound("sandbox", req.params.sandboxID);
    return store.range(team.id, req.params.sandboxID, start, end);
  }

  app.get<{ Params: Params }>("/sandboxes/:sandboxID/metrics", async (req) => (await history(req, requireTeam(req))).map(e2bMetric));

  app.get<{ Params: Params }>("/v1/sandboxes/:sandboxID/metrics", async (req) => ({ metrics: (await history(req, requireTeam(req))).map(nativeMetric) }));

  // The newest sample of each listed sandbox; unknown ids and ones without samples are left out.
  app.get("/sandboxes/metrics", async (req) => {
    const team = requireTeam(req);
    const ids = (optString(body(req.query), "sandbox_ids") ?? "").split(",").filter((s) => s !== "");
    if (ids.length > 100) throw invalid("at most 100 sandbox_ids");
    const latest = await store.latest(
      team.id,
      ids.filter((x) => SANDBOX_ID.test(x)),
    );
    return { sandboxes: Object.fromEntries([...latest].map(([id, m]) => [id, e2bMetric(m)])) };
  });
}
