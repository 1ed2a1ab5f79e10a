import { pino, type Logger } from "pino";

/**
 * Writing to a stream whose reader is gone (a pipe to a parent that was killed, `| head`)
 * fails with EPIPE, emitted as an 'error' event; unhandled, that ends the process. Output is
 * never worth dying for: the lost lines are dropped and the process goes on, so a command in
 * the middle of its shutdown (the node after its `cove up` died) still finishes it.
 */
export function guardStdio(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount("error") === 0) stream.on("error", () => undefined);
  }
}

/** A line on stdout, dropped when nobody reads it any more. */
export function printLine(line: string): void {
  if (process.stdout.writable) process.stdout.write(`${line}\n`);
}

/** Logs go to stderr (stdout carries status or export lines); `svc` names the part. Never throws on a lost stderr. */
export function createLogger(level: string, svc?: string): Logger {
  const destination = pino.destination({ dest: 2, sync: false });
  destination.on("error", () => undefined);
  return pino({ level, base: svc ? { svc } : {} }, destination);
}
