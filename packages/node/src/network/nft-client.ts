import { exec } from "./host-command.js";
import { parseSandboxElements, type SandboxElements } from "./nft-rules.js";
import type { Spawner } from "@cove/protocol/spawner";

/** The few `nft` calls the manager makes on its one table; each script is one atomic transaction. */
export interface NftClient {
  apply(script: string): Promise<void>;
  exists(): Promise<boolean>;
  /** Live-sandbox elements of the table; empty when it does not exist. */
  elements(): Promise<SandboxElements>;
  /** Deletes the table if it exists. */
  deleteTable(): Promise<void>;
}

export function createNftClient(table: string, spawner?: Spawner): NftClient {
  const exists = () =>
    exec(["nft", "list", "table", "inet", table], "", spawner).then(
      () => true,
      () => false,
    );
  return {
    apply: async (script) => {
      await exec(["nft", "-f", "-"], script, spawner);
    },
    exists,
    async elements() {
      try {
        return parseSandboxElements(await exec(["nft", "-j", "list", "table", "inet", table], "", spawner));
      } catch (err) {
        if (!(await exists())) return { ifs: [], internet: [], sources: [] };
        throw err;
      }
    },
    async deleteTable() {
      try {
        await exec(["nft", "delete", "table", "inet", table], "", spawner);
      } catch (err) {
        if (await exists()) throw err;
      }
    },
  };
}
