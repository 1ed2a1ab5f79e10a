import { mkdtempSync } from "node:fs";
import { after, before, describe } from "node:test";
import { Sandbox, type SandboxOpts } from "e2b";
import { suiteNetwork, type SuiteName } from "../../support/networks.js";
import { createTestDatabase, killLeftovers, startCoveUp, type CoveUp } from "./cove-up.js";
import { removeDataDir } from "../../support/data-dirs.js";

export interface ApiReply {
  status: number;
  headers: Headers;
  text: string;
  json(): Record<string, unknown>;
}

/** What a suite's tests get: the running `cove up` and SDK shortcuts bound to it. */
export interface SdkSuite {
  /** The current `cove up` (a new one after `startAgain`). */
  readonly up: CoveUp;
  readonly dataDir: string;
  /** API keys whose sandboxes the suite kills at the end (the admin key first). */
  readonly keys: string[];
  /** SDK connection options from the printed URLs, never the process env. */
  opts(apiKey?: string): { apiKey: string; apiUrl: string; sandboxUrl: string; requestTimeoutMs: number };
  create(extra?: SandboxOpts, apiKey?: string): Promise<Sandbox>;
  /** A raw request to the api with the admin key (or `init.key`). */
  api(path: string, init?: RequestInit & { key?: string }): Promise<ApiReply>;
  /** Starts `cove up` again on the same data dir and database, after the test stopped it. */
  startAgain(): Promise<CoveUp>;
}

/** The databases every SDK suite runs against: PGlite, and Postgres when COVE_TEST_DATABASE_URL is set. */
function targets(): { name: string; serverUrl?: string }[] {
  const serverUrl = process.env.COVE_TEST_DATABASE_URL;
  return serverUrl ? [{ name: "pglite" }, { name: "postgres", serverUrl }] : [{ name: "pglite" }];
}

/**
 * Declares `title` once per database, each around its own `cove up` started
 * as a user would, with the suite's own network; at the end it kills what the
 * suite made, by id through the API, stops `cove up` and removes its data.
 */
export function describeSdkSuite(title: string, network: SuiteName, body: (suite: SdkSuite) => void): void {
  for (const target of targets()) {
    describe(`${title} (${target.name})`, () => {
      let up: CoveUp | undefined;
      let dataDir = "";
      let dropDb: (() => Promise<void>) | undefined;
      let dbArgs: string[] = [];
      const keys: string[] = [];
      const start = () => startCoveUp({ dataDir, ...suiteNetwork(network), args: dbArgs });
      const current = (): CoveUp => {
        if (!up) throw new Error("cove up is not running");
        return up;
      };
      const suite: SdkSuite = {
        get up() {
          return current();
        },
        get dataDir() {
          return dataDir;
        },
        keys,
        opts: (apiKey) => ({ apiKey: apiKey ?? current().apiKey, apiUrl: current().url, sandboxUrl: current().url, requestTimeoutMs: 60_000 }),
        create: (extra = {}, apiKey) => Sandbox.create({ ...suite.opts(apiKey), ...extra }),
        async api(path, init = {}) {
          const res = await fetch(`${current().url}${path}`, {
            ...init,
            headers: {
              "x-api-key": init.key ?? current().apiKey,
              ...(init.body ? { "content-type": "application/json" } : {}),
              ...(init.headers as Record<string, string>),
            },
          });
          const text = await res.text();
          return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
        },
        async startAgain() {
          up = await start();
          return up;
        },
      };

      before(async () => {
        dataDir = mkdtempSync("/tmp/cove-e2e-");
        if (target.serverUrl) {
          const db = await createTestDatabase(target.serverUrl);
          dropDb = db.drop;
          dbArgs = ["--database-url", db.url];
        }
        up = await start();
        keys.push(up.apiKey);
      });

      after(async () => {
        if (up) {
          for (const key of keys) {
            const listed = await Sandbox.list(suite.opts(key))
              .nextItems()
              .catch(() => []);
            for (const s of listed) await Sandbox.kill(s.sandboxId, suite.opts(key)).catch(() => false);
          }
          await up.stop();
        }
        await killLeftovers({ dataDir, ...suiteNetwork(network), args: dbArgs });
        await dropDb?.();
        await removeDataDir(dataDir);
      });

      body(suite);
    });
  }
}
