import { ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { EnvdContext } from "../../context.js";
import { EnvdError, toConnectError } from "../../errors.js";

/**
 * Renders EnvdErrors as their Connect codes; anything else becomes "internal"
 * for the client and goes to the log with its cause.
 */
export function unary<I, O>(ctx: EnvdContext, method: string, fn: (req: I, hctx: HandlerContext) => Promise<O>) {
  return async (req: I, hctx: HandlerContext): Promise<O> => {
    try {
      return await fn(req, hctx);
    } catch (err) {
      throw render(ctx, method, err);
    }
  };
}

export function serverStream<I, O>(ctx: EnvdContext, method: string, fn: (req: I, hctx: HandlerContext) => AsyncIterable<O>) {
  return async function* (req: I, hctx: HandlerContext): AsyncGenerator<O> {
    try {
      yield* fn(req, hctx);
    } catch (err) {
      throw render(ctx, method, err);
    }
  };
}

function render(ctx: EnvdContext, method: string, err: unknown): Error {
  if (err instanceof ConnectError) return err;
  if (!(err instanceof EnvdError) || err.code === "internal") ctx.log.error({ err, method }, "process rpc failed");
  return toConnectError(err);
}
