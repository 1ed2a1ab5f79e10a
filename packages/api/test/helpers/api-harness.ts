// The api in process: createApi on PGlite in a temp dir, the fake node behind it, requests
// through Fastify's inject (no listener). Every suite gets its own database and node.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Kysely } from "kysely";
import pg from "pg";
import type { LightMyRequestResponse as InjectResponse } from "fastify";
import { pino } from "pino";
import { createApi, type Api, type ApiOptions } from "../../src/app.js";
import { createTeamWithKey } from "../../src/auth/keys.js";
import { createDatabase, migrate } from "../../src/db/database.js";
import type { Database } from "../../src/db/schema.js";
import { createFakeNode, type FakeNode } from "./fake-node.js";

export interface HarnessOptions {
  defaultSandboxLimit?: number;
  /** A Postgres server: the suite gets a fresh database on it (dropped at close); default PGlite. */
  postgresUrl?: string;
  /** Extra createApi options (metrics retention and the like). */
  api?: Partial<Omit<ApiOptions, "db" | "node" | "logger">>;
}

export interface RequestOptions {
  body?: unknown;
  /** The caller's API key; default the harness team's, null for none. */
  key?: string | null;
  headers?: Record<string, string>;
}

export interface Harness {
  api: Api;
  db: Kysely<Database>;
  node: FakeNode;
  /** The default team's API key. */
  key: string;
  request(method: "GET" | "POST" | "PUT" | "DELETE", url: string, options?: RequestOptions): Promise<InjectResponse>;
  /** A fresh team (own limit, own sandboxes) and its key. */
  team(sandboxLimit?: number): Promise<{ teamId: string; key: string }>;
  /** Creates a sandbox through the E2B API and returns its id (asserts 201). */
  create(body?: Record<string, unknown>, key?: string): Promise<string>;
  /** The sandbox's event log as stored: type, reason, message. */
  events(sandboxId: string): Promise<{ type: string; reason: string | null; message: string | null }[]>;
  stateOf(sandboxId: string): Promise<string | undefined>;
  /**
   * Waits until the event sync has applied every node event emitted so far. Events are
   * applied in order, so a probe event emitted now (in a team of its own) landing in the
   * database means all earlier ones have been handled.
   */
  settle(): Promise<void>;
  close(): Promise<void>;
}

async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (await check()) return;
    await sleep(5);
  }
  throw new Error(`gave up waiting: ${what}`);
}

/** A database of its own on a Postgres server, dropped by `drop`. */
async function createPostgresDatabase(serverUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cove_api_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const admin = async (q: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(q);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "cove-api-inproc-"));
  const server = options.postgresUrl === undefined ? undefined : await createPostgresDatabase(options.postgresUrl);
  const db = createDatabase(server ? { url: server.url } : { dataDir: dir });
  const node = createFakeNode();
  let api: Api | undefined;
  try {
    await migrate(db);
    const main = await createTeamWithKey(db, "main");
    const probe = await createTeamWithKey(db, "probe", { sandboxLimit: 1000 });
    const started = await createApi({
      db,
      node: node.client,
      logger: pino({ level: "silent" }),
      defaultSandboxLimit: options.defaultSandboxLimit ?? 20,
      maxTimeoutSeconds: 3600,
      ...options.api,
      // Tests reconcile explicitly; a periodic pass would race them.
      reconcileEveryMs: 3_600_000,
    });
    api = started;
    await started.sync.ready;
    await until("the event sync's stream", () => node.watchers() > 0);

    const request: Harness["request"] = (method, url, o = {}) => {
      const key = o.key === undefined ? main.apiKey : o.key;
      return started.app.inject({
        method,
        url,
        headers: { ...(key !== null ? { "x-api-key": key } : {}), ...(o.body !== undefined ? { "content-type": "application/json" } : {}), ...o.headers },
        ...(o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}),
      });
    };
    const stateOf = async (id: string) => (await db.selectFrom("sandboxes").select("state").where("sandbox_id", "=", id).executeTakeFirst())?.state;
    const create = async (b: Record<string, unknown> = {}, key?: string) => {
      const res = await request("POST", "/v2/sandboxes", { body: { templateID: "base", ...b }, key: key ?? main.apiKey });
      if (res.statusCode !== 201) throw new Error(`create answered ${res.statusCode}: ${res.body}`);
      return (res.json() as { sandboxID: string }).sandboxID;
    };

    return {
      api: started,
      db,
      node,
      key: main.apiKey,
      request,
      async team(sandboxLimit) {
        const t = await createTeamWithKey(db, `team-${Math.random().toString(36).slice(2, 8)}`, sandboxLimit !== undefined ? { sandboxLimit } : {});
        return { teamId: t.teamId, key: t.apiKey };
      },
      create,
      events: (id) => db.selectFrom("sandbox_events").select(["type", "reason", "message"]).where("sandbox_id", "=", id).orderBy("id").execute(),
      stateOf,
      async settle() {
        const id = await create({}, probe.apiKey);
        node.expire(id);
        await until("the sync to apply node events", async () => (await stateOf(id)) === "killed");
      },
      async close() {
        try {
          await started.close();
          await db.destroy();
          await server?.drop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    await api?.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    await server?.drop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
