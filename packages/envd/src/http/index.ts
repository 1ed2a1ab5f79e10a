import type { HttpHandler } from "./respond.js";

/** Plain HTTP routes keyed by "METHOD /path". */
export function createHttpRoutes(): Map<string, HttpHandler> {
  const routes = new Map<string, HttpHandler>();
  routes.set("GET /health", async (_req, res) => {
    res.writeHead(204);
    res.end();
  });
  return routes;
}
