import type { Logger as PinoLogger } from "pino";

/** What envd logs: fields and a message at one of four levels, as JSON lines on stderr. */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  /** Starts writing out buffered lines, including any logged before pino loaded. */
  flush(): void;
}

export interface LoggerOptions {
  level: string;
}

type Level = "debug" | "info" | "warn" | "error";

/** pino's level names and values; a line is written when its level is at least the configured one. */
const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * Log bytes held while stderr is slow or full; lines beyond this are dropped,
 * so a reader that stops reading costs bounded memory, never the process.
 */
const MAX_BUFFERED_LOG_BYTES = 1024 * 1024;

interface PendingLine {
  level: Level;
  fields: object;
  msg: string;
  time: number;
}

/**
 * envd logs JSON lines to stderr; stdout stays free for the one "listening"
 * line. stderr may be a pipe the node reads: writes are asynchronous (a full
 * pipe never blocks the event loop) and EAGAIN is retried later. pino
 * silences the stream on EPIPE itself; any other write error (EBADF, EIO)
 * drops the line here instead of surfacing as an uncaught 'error'.
 *
 * pino (with sonic-boom, node:assert and node:worker_threads) costs ~15 ms of
 * start-up and an idle envd at level info logs nothing, so it is loaded with
 * the first line that passes the level. Lines logged meanwhile keep their own
 * time and order and are written once it has loaded.
 */
export function createLogger(options: LoggerOptions): Logger {
  const threshold = LEVEL_VALUES[options.level];
  // pino's own check and message, made here because pino is created later.
  if (threshold === undefined || !Object.hasOwn(LEVEL_VALUES, options.level)) {
    throw new Error(`default level:${options.level} must be included in custom levels`);
  }
  let pino: PinoLogger | undefined;
  let loading: Promise<void> | undefined;
  /** Set if pino failed to load: lines are then dropped, not queued. */
  let unavailable = false;
  const pending: PendingLine[] = [];
  /** The time of the line being replayed; undefined means now. */
  let replayTime: number | undefined;

  const load = (): Promise<void> =>
    import("pino").then(
      ({ pino: createPino }) => {
        const destination = createPino.destination({ dest: 2, sync: false, maxLength: MAX_BUFFERED_LOG_BYTES });
        destination.on("error", () => undefined);
        // pino's default epoch-ms timestamp, taken from the line when it is replayed.
        const timestamp = () => `,"time":${replayTime ?? Date.now()}`;
        const logger = createPino({ level: options.level, base: { svc: "envd" }, timestamp }, destination);
        for (const line of pending.splice(0)) {
          replayTime = line.time;
          logger[line.level](line.fields, line.msg);
        }
        replayTime = undefined;
        pino = logger;
      },
      () => {
        // pino is part of the bundle; if it cannot load, logs are lost, never the process.
        unavailable = true;
        pending.length = 0;
      },
    );

  const method =
    (level: Level) =>
    (fields: object, msg: string): void => {
      if ((LEVEL_VALUES[level] ?? 0) < threshold || unavailable) return;
      if (pino) {
        pino[level](fields, msg);
        return;
      }
      pending.push({ level, fields, msg, time: Date.now() });
      loading ??= load();
    };

  return {
    debug: method("debug"),
    info: method("info"),
    warn: method("warn"),
    error: method("error"),
    flush() {
      if (pino) pino.flush();
      else if (loading !== undefined) void loading.then(() => pino?.flush());
    },
  };
}
