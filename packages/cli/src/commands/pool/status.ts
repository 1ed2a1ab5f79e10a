import type { GetWarmPoolResponse } from "@cove/protocol/nodeapi";
import type { Command } from "commander";
import { type NodeFlags, nodeTarget } from "../../node-target.js";
import { type Output, printJson, printTable } from "../../output.js";

interface PoolFlags extends NodeFlags {
  json: boolean;
}

/** What `--json` prints: the node's answer with plain numbers. */
function warmPoolJson(r: GetWarmPoolResponse) {
  return {
    max: r.max,
    concurrency: r.concurrency,
    idleTimeoutMs: r.idleTimeoutMs,
    memoryReserveMB: Number(r.memoryReserveMb),
    memoryAvailableMB: Number(r.memoryAvailableMb),
    pools: r.pools.map((p) => ({
      templateId: p.templateId,
      min: p.min,
      target: p.target,
      waiting: p.waiting,
      booting: p.booting,
      handedOut: Number(p.handedOut),
      misses: Number(p.misses),
    })),
  };
}

function printWarmPool(out: Output, r: GetWarmPoolResponse): void {
  if (r.max === 0) {
    out.write("warm pool off (pool max 0)\n");
    return;
  }
  out.write(
    `warm pool: at most ${r.max} sandboxes, ${r.concurrency} booted at once, idle timeout ${r.idleTimeoutMs / 1000} s, ` +
      `MemAvailable ${r.memoryAvailableMb} MiB (boots need ${r.memoryReserveMb})\n`,
  );
  printTable(
    out,
    ["TEMPLATE", "MIN", "TARGET", "WAITING", "BOOTING", "HANDED OUT", "MISSES"],
    r.pools.map((p) => [p.templateId, String(p.min), String(p.target), String(p.waiting), String(p.booting), String(p.handedOut), String(p.misses)]),
  );
}

/** `cove pool`: the node's warm pool per template, straight from the node API (it needs the node's secret). */
export function registerPoolCommand(program: Command): void {
  program
    .command("pool")
    .description("show the node's warm pool: per template its target, waiting, booting and handed-out sandboxes")
    .option("--node-url <url>", "the node API (env COVE_NODE_URL; default: <data-dir>/node-url, else http://127.0.0.1:5008)")
    .option("--data-dir <dir>", "the node's data dir, for its secret and address (env COVE_DATA_DIR; default ./.cove)")
    .option("--json", "print JSON", false)
    .action(async (flags: PoolFlags) => {
      const target = await nodeTarget(flags, process.env);
      // Loaded here: every other command would pay for the Connect client.
      const [{ createNodeClient }, { ConnectError }] = await Promise.all([import("@cove/protocol/nodeapi-client"), import("@connectrpc/connect")]);
      let res: GetWarmPoolResponse;
      try {
        res = await createNodeClient(target).getWarmPool({});
      } catch (err) {
        throw new Error(`node at ${target.baseUrl}: ${err instanceof ConnectError ? err.rawMessage : String(err)}`);
      }
      if (flags.json) printJson(process.stdout, warmPoolJson(res));
      else printWarmPool(process.stdout, res);
    });
}
