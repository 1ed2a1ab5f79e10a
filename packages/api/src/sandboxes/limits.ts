import { invalid } from "../errors.js";

/** A caller's lifetime in seconds, checked against the api's ceiling; returns it unchanged. */
export function checkTimeout(seconds: number, maxTimeoutSeconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0) throw invalid("timeout must be a whole number of seconds, 0 or more");
  if (seconds > maxTimeoutSeconds) throw invalid(`timeout must be at most ${maxTimeoutSeconds} seconds`);
  return seconds;
}
