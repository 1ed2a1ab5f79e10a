import { pino } from "pino";

/** What the server logs; pino's Logger satisfies it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** JSON lines on stderr; stdout stays free for the one "listening" line. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "interpreter" } }, pino.destination({ fd: 2, sync: false }));
}
