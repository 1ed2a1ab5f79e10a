// Runs envd's real entry point (runEnvd) as its own process for tests that
// need its stdio: node --import tsx run-envd.ts <port> [logLevel]
import { runEnvd } from "../../src/main.js";

const [port = "0", logLevel = "info"] = process.argv.slice(2);
await runEnvd({ host: "127.0.0.1", port, logLevel });
