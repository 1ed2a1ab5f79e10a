/**
 * Parsers for configuration values every deployable reads the same way (listen addresses,
 * bounded integers). Each deployable keeps its own error type: it passes `fail`, which turns
 * the message into that error; the default is a ConfigValueError.
 */

/** A configuration value that does not parse; `code` matches the deployables' invalid_argument. */
export class ConfigValueError extends Error {
  readonly code = "invalid_argument" as const;
  constructor(message: string) {
    super(message);
    this.name = "ConfigValueError";
  }
}

export type ConfigFailure = (message: string) => Error;

const defaultFailure: ConfigFailure = (message) => new ConfigValueError(message);

/**
 * `host:port`, `[v6]:port`, `:port` or a bare port (host 127.0.0.1: nothing is exposed
 * beyond the machine unless asked). Port 0 means "any free port".
 */
export function parseListen(text: string, fail: ConfigFailure = defaultFailure): { host: string; port: number } {
  const i = text.lastIndexOf(":");
  const host = i > 0 ? text.slice(0, i).replace(/^\[|\]$/g, "") : "127.0.0.1";
  const port = Number(i >= 0 ? text.slice(i + 1) : text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw fail(`invalid listen address '${text}': expected host:port`);
  return { host, port };
}

/** A decimal integer in [min, max]; `name` is how the operator spelled the option. */
export function parseInteger(name: string, text: string, min: number, max: number, fail: ConfigFailure = defaultFailure): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw fail(`${name} must be an integer from ${min} to ${max}, got '${text}'`);
  return n;
}
