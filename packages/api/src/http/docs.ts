import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";

const require = createRequire(import.meta.url);

/** The hand-written OpenAPI document (packages/api/openapi.yaml), same path from src/ and dist/. */
export function openapiDocument(): string {
  return readFileSync(new URL("../../openapi.yaml", import.meta.url), "utf8");
}

const ASSETS = new Set(["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"]);

const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cove API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"><link rel="icon" href="/docs/favicon-32x32.png"></head>
<body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: "/openapi.yaml", dom_id: "#ui", persistAuthorization: true });</script>
</body></html>`;

/** GET /openapi.yaml and Swagger UI at /docs, served from the swagger-ui-dist package (no CDN). */
export function registerDocs(app: FastifyInstance): void {
  let doc: string | undefined;
  const cachedDocument = (): string => {
    doc ??= openapiDocument();
    return doc;
  };
  const assetsDir = join(require.resolve("swagger-ui-dist/package.json"), "..");
  app.get("/openapi.yaml", async (_req, reply) => reply.type("application/yaml; charset=utf-8").send(cachedDocument()));
  app.get("/docs", async (_req, reply) => reply.type("text/html; charset=utf-8").send(page));
  app.get<{ Params: { file: string } }>("/docs/:file", async (req, reply) => {
    const file = req.params.file;
    if (!ASSETS.has(file)) return reply.code(404).type("text/plain").send("not found");
    const type = file.endsWith(".css") ? "text/css" : file.endsWith(".png") ? "image/png" : "text/javascript";
    return reply
      .type(type)
      .header("cache-control", "public, max-age=86400")
      .send(readFileSync(join(assetsDir, file)));
  });
}
