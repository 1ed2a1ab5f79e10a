import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import type { Command } from "commander";
import { createLogger, printLine } from "../../stdio.js";
import { NODE_URL_FILE } from "../../node-target.js";
import { ensureBaseTemplate } from "../template/build.js";

/** The portable envd runtime that `npm run build` puts beside the envd package. */
export function defaultEnvdRuntimeDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@cove/envd")), "..", "build", "runtime");
}

export function registerNodeCommand(program: Command): void {
  program
    .command("node")
    .description("run the node (the per-host sandbox service) in the foreground")
    .option("--data-dir <dir>", "where the node keeps sandboxes, templates and its secret (env COVE_DATA_DIR; default ./.cove)")
    .option("--listen <host:port>", "node API address (env COVE_NODE_LISTEN; default 127.0.0.1:5008)")
    .option("--runtime <name>", "OCI runtime: crun, runc or auto (env COVE_OCI_RUNTIME)")
    .option("--pool-size <n>", "pre-started sandboxes each pool template keeps warm, the pool's minimum (env COVE_POOL_SIZE; default 2)")
    .option(
      "--pool-max <n>",
      "most pre-started sandboxes on the node while demand grows the pool (env COVE_POOL_MAX; default max(8, pool size × pool templates))",
    )
    .option("--envd-runtime <dir>", "portable envd folder mounted into sandboxes (env COVE_ENVD_RUNTIME)")
    .option("--log-level <level>", "pino log level (env COVE_LOG_LEVEL; default info)")
    .option("--kill-on-exit", "kill every sandbox on shutdown (default: keep them for the next node to re-adopt)", false)
    .action(
      async (opts: {
        dataDir?: string;
        listen?: string;
        runtime?: string;
        poolSize?: string;
        poolMax?: string;
        envdRuntime?: string;
        logLevel?: string;
        killOnExit: boolean;
      }) => {
        // Loaded here, not at the top: every other command would pay for the node's modules.
        const { loadNodeConfig, startNode } = await import("@cove/node");
        const config = loadNodeConfig(opts, process.env, { envdRuntimeDir: defaultEnvdRuntimeDir() });
        const log = createLogger(config.logLevel, "node");
        // Forked by `cove up` with an IPC channel; known now, because the channel may be gone by the time we are ready.
        const forked = process.send !== undefined;
        // Under `cove up` stdout is a pipe to it: when cove up is killed, these lines go nowhere
        // (and must not end the process in the middle of its shutdown).
        const out = printLine;
        out(`cove node: data dir ${config.dataDir}`);

        await ensureBaseTemplate(config, (line) => out(`cove node: ${line}`));

        const node = await startNode(config, log);
        out(
          `cove node: runtime ${node.runtime}, cgroups ${node.cgroupMode}${node.hybridWorkaround ? " (crun creates sandboxes in a mount namespace without the cgroup2 mount, which it refuses in hybrid mode)" : ""}`,
        );
        out(`cove node: re-adopted ${node.recovery.adopted.length} sandbox(es), removed ${node.recovery.removed.length} leftover(s)`);
        // Where local commands (cove pool) find this node, whatever port it got.
        await writeFile(join(config.dataDir, NODE_URL_FILE), `http://${node.address.host}:${node.address.port}\n`, { mode: 0o600 });
        out(`cove node: warm pool ${config.poolSize} × ${config.poolTemplates.join(",")}, growing to ${config.poolMax} on demand`);
        out(
          `cove node: node API on http://${node.address.host}:${node.address.port} (bearer secret ${node.secretFile ? `in ${node.secretFile}` : "from COVE_NODE_SECRET"})`,
        );
        out("cove node: ready");
        // Run by `cove up` (an IPC channel): report readiness there, and stop when the parent goes away.
        if (forked && process.connected) {
          process.send?.({
            type: "ready",
            host: node.address.host,
            port: node.address.port,
            secret: node.secret,
            recovered: node.recovery.adopted.length,
            runtime: node.runtime,
            cgroupMode: node.cgroupMode,
          });
        }

        await new Promise<void>((resolve) => {
          let stopping = false;
          const stop = (signal: NodeJS.Signals) => {
            if (stopping) return;
            stopping = true;
            out(`cove node: ${signal}, shutting down (${opts.killOnExit ? "killing" : "keeping"} sandboxes)`);
            node.close({ killAll: opts.killOnExit }).then(resolve, (err: unknown) => {
              log.error({ err }, "shutdown failed");
              resolve();
            });
          };
          process.once("SIGTERM", stop);
          process.once("SIGINT", stop);
          // The parent (`cove up`) is gone, even by SIGKILL: the same orderly stop as a SIGTERM.
          process.once("disconnect", () => stop("SIGTERM"));
          // Lost while we were starting: its 'disconnect' came before anyone listened.
          if (forked && !process.connected) stop("SIGTERM");
        });
        log.flush();
        if (process.connected) process.disconnect();
      },
    );
}
