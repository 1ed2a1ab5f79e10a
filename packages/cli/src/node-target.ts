import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";

/** Flags of the commands that talk to the local node directly (they need its secret). */
export interface NodeFlags {
  nodeUrl?: string;
  dataDir?: string;
}

/** The file `cove node` writes its API address to, so local commands find a node on any port (cove up picks one). */
export const NODE_URL_FILE = "node-url";

/** Node URL: flag > env > the data dir's node-url file > the default listen address. */
export async function nodeTarget(flags: NodeFlags, env: NodeJS.ProcessEnv): Promise<{ baseUrl: string; secret: string }> {
  const dataDir = resolve(flags.dataDir ?? env.COVE_DATA_DIR ?? ".cove");
  const fromFile = await readFile(join(dataDir, NODE_URL_FILE), "utf8").then(
    (t) => t.trim() || undefined,
    () => undefined,
  );
  const baseUrl = flags.nodeUrl ?? env.COVE_NODE_URL ?? fromFile ?? "http://127.0.0.1:5008";
  const secret =
    env.COVE_NODE_SECRET ||
    (await readFile(join(dataDir, "node-secret"), "utf8").then(
      (t) => t.trim(),
      () => {
        throw new Error(`no node secret: set COVE_NODE_SECRET or point --data-dir at the node's data dir (no ${join(dataDir, "node-secret")})`);
      },
    ));
  return { baseUrl, secret };
}
