import type { HandlerContext } from "@connectrpc/connect";
import type { StartRequest } from "@cove/protocol/process";
import { userFromAuthorization, type EnvdContext } from "../../context.js";
import { processEvents } from "./event-stream.js";
import { resolveLaunch } from "./launch.js";
import type { ManagedProcess } from "./managed-process.js";
import type { ProcessRegistry } from "./registry.js";
import { spawnPipeProcess } from "./spawn-pipe.js";
import { spawnPtyProcess } from "./spawn-pty.js";

/** Start: run cmd as the request's user and stream its events; the Connect deadline kills it. */
export function createStart(ctx: EnvdContext, registry: ProcessRegistry) {
  return async function* start(req: StartRequest, hctx: HandlerContext) {
    const user = await userFromAuthorization(ctx, hctx.requestHeader.get("authorization"));
    const spec = await resolveLaunch(ctx, user, req);
    const { process, subscription } = spec.pty
      ? withSubscription(spawnPtyProcess(spec, ctx.config.execHelper, ctx.config.root))
      : await spawnPipeProcess(spec, ctx.spawner, ctx.config.execHelper, ctx.config.root);
    registry.add(process);
    const timeoutMs = hctx.timeoutMs();
    if (timeoutMs !== undefined) process.setDeadline(timeoutMs);
    ctx.log.debug({ pid: process.pid, cmd: spec.cmd, user: user.name, pty: Boolean(spec.pty) }, "process started");
    yield* processEvents(process, subscription, hctx, { killOnDeadline: true });
  };
}

/** Subscribes in the same tick as the spawn, so no output is missed. */
function withSubscription(process: ManagedProcess) {
  return { process, subscription: process.subscribe() };
}
