import { sendJson, type HttpHandler } from "./respond.js";

/** GET /envs (spec 5.5): the sandbox-wide env vars set by /init. */
export const getEnvs: HttpHandler = async (_req, res, ctx) => {
  sendJson(res, 200, ctx.state.envVars);
};
