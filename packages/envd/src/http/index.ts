import { getEnvs } from "./envs.js";
import { getFiles } from "./files-download.js";
import { postFiles } from "./files-upload.js";
import { postInit } from "./init.js";
import { createMetricsRoute } from "./metrics.js";
import { writeHead, type HttpHandler } from "./respond.js";

/** Plain HTTP routes keyed by "METHOD /path". One set per server (metrics keep their last CPU sample). */
export function createHttpRoutes(): Map<string, HttpHandler> {
  const routes = new Map<string, HttpHandler>();
  routes.set("GET /health", async (_req, res) => {
    writeHead(res, 204);
    res.end();
  });
  routes.set("GET /files", getFiles);
  routes.set("POST /files", postFiles);
  routes.set("POST /init", postInit);
  routes.set("GET /envs", getEnvs);
  routes.set("GET /metrics", createMetricsRoute());
  return routes;
}
