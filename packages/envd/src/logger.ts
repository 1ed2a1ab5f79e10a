import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  level: string;
}

/** envd logs JSON lines to stderr; stdout stays free for the one "listening" line. */
export function createLogger(options: LoggerOptions): Logger {
  return pino({ level: options.level, base: { svc: "envd" } }, pino.destination({ dest: 2, sync: false }));
}
