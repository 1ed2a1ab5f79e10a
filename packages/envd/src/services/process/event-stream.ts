import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ProcessEventSchema } from "@cove/protocol/process";
import type { ManagedProcess } from "./managed-process.js";
import type { Subscription } from "./subscription.js";

type ProcessEventInit = MessageInitShape<typeof ProcessEventSchema>;

/** envd's keepalive interval when the request names none (seconds). */
const DEFAULT_KEEPALIVE_SECONDS = 90;

/** How long a stream whose deadline passed waits for the killed process to be reaped. */
const REAP_WAIT_MS = 5_000;

export interface EventStreamOptions {
  /** Start: the request's deadline kills the process. Connect: it only ends the stream. */
  killOnDeadline: boolean;
}

/**
 * The Start/Connect response stream: start{pid}, then data and keepalive
 * events, then end. A client that goes away only detaches; the process keeps
 * running. When the Connect deadline passes the stream ends with
 * deadline_exceeded (the SDK's TimeoutError).
 */
export async function* processEvents(
  process: ManagedProcess,
  subscription: Subscription,
  context: HandlerContext,
  options: EventStreamOptions,
): AsyncGenerator<{ event: ProcessEventInit }> {
  const keepaliveMs = keepaliveSeconds(context.requestHeader.get("keepalive-ping-interval")) * 1000;
  try {
    yield { event: { event: { case: "start", value: { pid: process.pid } } } };
    for (;;) {
      const item = await subscription.next(keepaliveMs, context.signal);
      switch (item.kind) {
        case "idle":
          yield { event: { event: { case: "keepalive", value: {} } } };
          break;
        case "data":
          yield { event: { event: { case: "data", value: { output: { case: item.stream, value: item.data } } } } };
          break;
        case "end":
          if (options.killOnDeadline && process.deadlineExceeded) throw deadlineError();
          yield { event: { event: { case: "end", value: item.end } } };
          return;
        case "aborted":
          if (!isDeadline(context.signal.reason)) return;
          if (options.killOnDeadline) {
            process.expireDeadline();
            await reaped(process);
          }
          throw deadlineError();
      }
    }
  } finally {
    subscription.close();
  }
}

function keepaliveSeconds(header: string | null): number {
  const seconds = Number(header);
  return header && Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_KEEPALIVE_SECONDS;
}

function isDeadline(reason: unknown): boolean {
  return reason instanceof ConnectError && reason.code === Code.DeadlineExceeded;
}

function deadlineError(): ConnectError {
  return new ConnectError("process deadline exceeded", Code.DeadlineExceeded);
}

async function reaped(process: ManagedProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([process.ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, REAP_WAIT_MS)))]);
  clearTimeout(timer);
}
