import { Readable } from "node:stream";
import { invalid } from "../errors.js";
import { MAX_INTEGER_FIELD } from "./validate.js";

/** Small readers for request bodies and queries: each names the field it rejects. */
export type Fields = Record<string, unknown>;

export function body(value: unknown): Fields {
  if (value === undefined || value === null || value === "") return {};
  // A stream (a body of a type without a parser, see native-routes) or a buffer is not a JSON object either.
  if (typeof value !== "object" || Array.isArray(value) || value instanceof Readable || value instanceof Uint8Array) {
    throw invalid("request body must be a JSON object (content-type: application/json)");
  }
  return value as Fields;
}

export function optString(o: Fields, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw invalid(`${key} must be a string`);
  return v;
}

export function optInt(o: Fields, key: string, min = 0, max = MAX_INTEGER_FIELD): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === "string" && /^-?\d{1,16}$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) throw invalid(`${key} must be an integer from ${min} to ${max}`);
  return n;
}

export function optBool(o: Fields, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw invalid(`${key} must be true or false`);
  return v;
}

export function optStringMap(o: Fields, key: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) throw invalid(`${key} must be an object of strings`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v as Fields)) {
    if (typeof x !== "string") throw invalid(`${key}.${k} must be a string`);
    out[k] = x;
  }
  return out;
}

/** The native API is strict: a misspelt field is an error, not a silently applied default. */
export function onlyFields(o: Fields, allowed: readonly string[]): Fields {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw invalid(`unknown field '${key}' (expected one of: ${allowed.join(", ")})`);
  }
  return o;
}
