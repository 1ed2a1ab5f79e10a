import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NodeError } from "../errors.js";

export type BuildStatus = "building" | "ready" | "error";

/** What the node keeps of a template build, so its status and log outlive the call that started it. */
export interface BuildRecord {
  buildId: string;
  template: string;
  tags: string[];
  owner?: string;
  status: BuildStatus;
  startedAt: string;
  finishedAt?: string;
  reason?: { message: string; step?: string };
  steps?: number;
  cachedSteps?: number;
}

export interface BuildLogLine {
  timestamp: string;
  level: string;
  message: string;
  step?: string;
}

/** One build in flight: its log lines and its end go to disk as they come. */
export interface BuildRun {
  log(line: BuildLogLine): void;
  finish(end: { status: "ready"; steps: number; cachedSteps: number } | { status: "error"; reason: { message: string; step?: string } }): Promise<void>;
}

export interface BuildRecords {
  begin(record: Omit<BuildRecord, "status" | "startedAt">): Promise<BuildRun>;
  /** A build and `limit` log lines from `offset`; another owner's build is not found. */
  get(buildId: string, owner: string | undefined, offset: number, limit: number): Promise<{ record: BuildRecord; logs: BuildLogLine[]; total: number }>;
  /** Newest first; only `owner`'s when given. */
  list(filter: { owner?: string; template?: string }): Promise<BuildRecord[]>;
  /** Marks builds a node restart interrupted as failed (at start); removes records past `keepMs`. */
  recover(keepMs: number, now?: number): Promise<void>;
}

const BUILD_ID = /^[0-9A-Za-z][0-9A-Za-z_-]{0,127}$/;
/** A runaway step must not fill the disk with its log. */
const MAX_LOG_BYTES = 64 * 1024 * 1024;

/** `<dir>/<buildId>.json` (the record, replaced whole) and `<buildId>.log` (NDJSON lines). */
export async function createBuildRecords(dir: string): Promise<BuildRecords> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = (id: string, ext: "json" | "log") => {
    if (!BUILD_ID.test(id)) throw new NodeError("invalid_argument", `invalid build id '${id}'`);
    return join(dir, `${id}.${ext}`);
  };
  const save = async (r: BuildRecord) => {
    const tmp = `${file(r.buildId, "json")}.tmp`;
    await writeFile(tmp, `${JSON.stringify(r)}\n`, { mode: 0o600 });
    await rename(tmp, file(r.buildId, "json"));
  };
  const read = async (id: string): Promise<BuildRecord | undefined> => {
    const path = file(id, "json");
    try {
      return JSON.parse(await readFile(path, "utf8")) as BuildRecord;
    } catch {
      return undefined;
    }
  };
  const all = async () => {
    const names = (await readdir(dir)).filter((n) => n.endsWith(".json"));
    const records = await Promise.all(names.map((n) => read(n.slice(0, -".json".length))));
    return records.filter((r): r is BuildRecord => r !== undefined).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  };
  /** Log streams of builds in flight, ended before their record says they finished. */
  const open = new Map<string, WriteStream>();

  return {
    async begin(init) {
      if (await read(init.buildId)) throw new NodeError("invalid_argument", `build '${init.buildId}' exists`);
      const record: BuildRecord = { ...init, status: "building", startedAt: new Date().toISOString() };
      await save(record);
      const out = createWriteStream(file(record.buildId, "log"), { flags: "a", mode: 0o600 });
      out.on("error", () => {});
      open.set(record.buildId, out);
      let bytes = 0;
      return {
        log(line) {
          const text = `${JSON.stringify(line)}\n`;
          bytes += text.length;
          if (bytes <= MAX_LOG_BYTES) out.write(text);
        },
        async finish(end) {
          await new Promise<void>((resolve) => out.end(resolve));
          open.delete(record.buildId);
          await save({ ...record, ...end, finishedAt: new Date().toISOString() });
        },
      };
    },
    async get(buildId, owner, offset, limit) {
      const record = await read(buildId);
      // An operator's call (no owner) sees every build; a team only its own.
      if (!record || (owner !== undefined && record.owner !== owner)) throw new NodeError("not_found", `template build '${buildId}' not found`);
      const text = await readFile(file(buildId, "log"), "utf8").catch(() => "");
      // A line being written may be cut: only whole lines count.
      const lines = text.split("\n").slice(0, -1);
      const logs = lines.slice(offset, offset + limit).map((l) => JSON.parse(l) as BuildLogLine);
      return { record, logs, total: lines.length };
    },
    async list(filter) {
      return (await all()).filter(
        (r) => (filter.owner === undefined || r.owner === filter.owner) && (filter.template === undefined || r.template === filter.template),
      );
    },
    async recover(keepMs, now = Date.now()) {
      for (const r of await all()) {
        if (r.status === "building" && !open.has(r.buildId)) {
          await save({ ...r, status: "error", finishedAt: new Date(now).toISOString(), reason: { message: "the node restarted while the build ran" } });
        } else if (r.status !== "building" && Date.parse(r.finishedAt ?? r.startedAt) < now - keepMs) {
          await rm(file(r.buildId, "json"), { force: true });
          await rm(file(r.buildId, "log"), { force: true });
        }
      }
      // A log without its record (a crash between the two writes) is nobody's.
      for (const n of await readdir(dir)) {
        if (n.endsWith(".log") && !(await stat(join(dir, `${n.slice(0, -4)}.json`)).catch(() => undefined))) await rm(join(dir, n), { force: true });
      }
    },
  };
}
