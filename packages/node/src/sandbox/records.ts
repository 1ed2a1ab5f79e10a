import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NodeError } from "../errors.js";
import type { SandboxNetwork } from "../network/index.js";
import type { SandboxRootfs } from "../storage/index.js";
import type { SandboxUserns } from "../userns/index.js";
import { mountsUnder, readMounts } from "../storage/mountinfo.js";
import { sandboxIdPattern } from "./ids.js";
import type { SandboxInfo } from "./types.js";

/**
 * What the node persists per sandbox, so a restarted node can re-adopt or
 * clean it up: the SandboxInfo it reports (less the addresses, which come
 * from `network`) plus what only the node needs.
 */
export interface SandboxRecord extends Omit<SandboxInfo, "envdAddress" | "sandboxIp"> {
  /** The lifetime asked for at create (or the last set timeout); resume renews it. */
  timeoutMs: number;
  network?: SandboxNetwork;
  rootfs?: SandboxRootfs;
  /** The sandbox's own user namespace (absent for sandboxes made without one). */
  userns?: SandboxUserns;
  /** What create asked for (`name` or `name:tag`) and which build that was: a pool hands out only the current one. */
  template?: { ref: string; build: string };
  /** Pre-started for the warm pool and not yet handed to a caller. */
  pooled?: boolean;
  /** Runs one template build step for the node's builder: nobody's sandbox, never listed, no events, not re-adopted after a restart. */
  build?: boolean;
}

/** One directory per sandbox under `<dataDir>/sandboxes/`, holding sandbox.json and the bundle. */
export interface RecordStore {
  dir(sandboxId: string): string;
  save(record: SandboxRecord): Promise<void>;
  load(): Promise<SandboxRecord[]>;
  /** Ids of every sandbox directory, with a readable record or not. */
  ids(): Promise<string[]>;
  /** Removes the sandbox's directory; refuses while anything is mounted inside it. */
  remove(sandboxId: string): Promise<void>;
}

export function createRecordStore(dataDir: string): RecordStore {
  const root = join(dataDir, "sandboxes");
  const dir = (id: string) => {
    if (!sandboxIdPattern.test(id)) throw new NodeError("invalid_argument", `invalid sandbox id '${id}'`);
    return join(root, id);
  };
  return {
    dir,
    async save(record) {
      const d = dir(record.sandboxId);
      await mkdir(d, { recursive: true, mode: 0o700 });
      // Write-then-rename: a crash leaves the old record or the new, never half of one.
      const tmp = join(d, "sandbox.json.tmp");
      await writeFile(tmp, JSON.stringify(record, null, 1), { mode: 0o600 });
      await rename(tmp, join(d, "sandbox.json"));
    },
    async load() {
      const records: SandboxRecord[] = [];
      for (const id of await this.ids()) {
        try {
          records.push(JSON.parse(await readFile(join(root, id, "sandbox.json"), "utf8")) as SandboxRecord);
        } catch {
          // no record (crash before the first save): the caller cleans the dir up by id
        }
      }
      return records;
    },
    async ids() {
      try {
        return (await readdir(root)).filter((n) => sandboxIdPattern.test(n));
      } catch {
        return [];
      }
    },
    async remove(sandboxId) {
      const d = dir(sandboxId);
      const busy = mountsUnder(await readMounts(), d).map((m) => m.mountPoint);
      if (busy.length > 0) throw new NodeError("runtime_failed", `not removing ${d}: still mounted: ${busy.join(", ")}`);
      await rm(d, { recursive: true, force: true });
    },
  };
}
