import type { Command } from "commander";
import type { ServeFlags } from "./serve.js";

// The server parts load only when one of these commands runs, so `cove sandbox ...` starts fast.
export function registerUpCommands(program: Command): void {
  program
    .command("up")
    .description("run api, proxy and node on one port, with an embedded database (the all-in-one)")
    .option("--port <port>", "port for the api and the sandbox gateway (env COVE_API_LISTEN; default 3000)")
    .option("--host <host>", "address to listen on (default 127.0.0.1)")
    .option("--data-dir <dir>", "sandboxes, templates, database and keys (env COVE_DATA_DIR; default ./.cove)")
    .option("--database-url <url>", "use this Postgres server instead of the embedded one (env DATABASE_URL)")
    .option("--domain <domain>", "sandbox domain for `{port}-{id}.{domain}` hosts (env COVE_DOMAIN)")
    .option("--pool-size <n>", "pre-started sandboxes each pool template keeps warm, the pool's minimum (env COVE_POOL_SIZE; default 2)")
    .option(
      "--pool-max <n>",
      "most pre-started sandboxes on the node while demand grows the pool (env COVE_POOL_MAX; default max(8, pool size × pool templates))",
    )
    .option("--runtime <name>", "OCI runtime: crun, runc or auto (env COVE_OCI_RUNTIME)")
    .option("--prebuild <templates>", "built-in templates to build (or check) before starting, comma-separated: code-interpreter (env COVE_PREBUILD)")
    .option("--log-level <level>", "log level (env COVE_LOG_LEVEL; default info)")
    .option("--kill-on-exit", "kill every sandbox on shutdown (default: keep them; the next start re-adopts them)", false)
    .action(async (flags: ServeFlags) => (await import("./serve.js")).upCommand(flags));

  program
    .command("api")
    .description("run the control plane alone (talks to a node; serves the E2B and native APIs)")
    .option("--listen <host:port>", "address (env COVE_API_LISTEN; default 127.0.0.1:3000)")
    .option("--data-dir <dir>", "embedded database and node secret (env COVE_DATA_DIR; default ./.cove)")
    .option("--database-url <url>", "Postgres server (env DATABASE_URL; default embedded PGlite in <data-dir>/db)")
    .option("--node-url <url>", "the node API (env COVE_NODE_URL; default http://127.0.0.1:5008)")
    .option("--domain <domain>", "sandbox domain returned to SDKs (env COVE_DOMAIN)")
    .option("--log-level <level>", "log level (env COVE_LOG_LEVEL; default info)")
    .action(async (flags: ServeFlags) => (await import("./serve.js")).apiCommand(flags));

  program
    .command("proxy")
    .description("run the sandbox gateway alone (routes E2b-Sandbox-Id/Port headers and sandbox hosts)")
    .option("--listen <host:port>", "address (env COVE_PROXY_LISTEN; default 127.0.0.1:3001)")
    .option("--data-dir <dir>", "embedded database and node secret (env COVE_DATA_DIR; default ./.cove)")
    .option("--database-url <url>", "the api's Postgres server (env DATABASE_URL)")
    .option("--node-url <url>", "the node API (env COVE_NODE_URL; default http://127.0.0.1:5008)")
    .option("--domain <domain>", "sandbox domain for host routing (env COVE_DOMAIN)")
    .option("--log-level <level>", "log level (env COVE_LOG_LEVEL; default info)")
    .action(async (flags: ServeFlags) => (await import("./serve.js")).proxyCommand(flags));
}
