export { createEnvdServer, type EnvdServer, type EnvdServerOptions } from "./server.js";
export { loadConfig, ConfigError, ENVD_VERSION, type EnvdConfig, type EnvdFlags } from "./config.js";
export { runEnvd } from "./main.js";
