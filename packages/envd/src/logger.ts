import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  level: string;
}

/**
 * Log bytes held while stderr is slow or full; lines beyond this are dropped,
 * so a reader that stops reading costs bounded memory, never the process.
 */
const MAX_BUFFERED_LOG_BYTES = 1024 * 1024;

/**
 * envd logs JSON lines to stderr; stdout stays free for the one "listening"
 * line. stderr may be a pipe the node reads: writes are asynchronous (a full
 * pipe never blocks the event loop) and EAGAIN is retried later. pino
 * silences the stream on EPIPE itself; any other write error (EBADF, EIO)
 * drops the line here instead of surfacing as an uncaught 'error'.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = pino.destination({ dest: 2, sync: false, maxLength: MAX_BUFFERED_LOG_BYTES });
  destination.on("error", () => undefined);
  return pino({ level: options.level, base: { svc: "envd" } }, destination);
}
