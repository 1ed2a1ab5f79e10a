import { NodeError } from "../errors.js";
import type { CreateSandboxRequest } from "./types.js";

/** Longest lifetime a sandbox may be given (E2B's own cap is 24 h). */
export const maxTimeoutMs = 24 * 3600_000;

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

function fail(message: string): never {
  throw new NodeError("invalid_argument", message);
}

export function validateTimeout(timeoutMs: unknown): number {
  if (typeof timeoutMs !== "number" || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0)
    fail(`timeoutMs must be a positive integer, got ${String(timeoutMs)}`);
  if (timeoutMs > maxTimeoutMs) fail(`timeoutMs must be at most ${maxTimeoutMs} (24 h), got ${timeoutMs}`);
  return timeoutMs;
}

/** Checks a create request before anything is allocated; every message names the field. */
export function validateCreate(req: CreateSandboxRequest, limits: { maxCpus: number; maxMemoryMB: number }): void {
  if (typeof req.templateId !== "string" || req.templateId === "") fail("templateId is required");
  validateTimeout(req.timeoutMs);
  if (req.cpuCount !== undefined && !(Number.isSafeInteger(req.cpuCount) && req.cpuCount >= 1 && req.cpuCount <= limits.maxCpus)) {
    fail(`cpuCount must be an integer from 1 to ${limits.maxCpus}, got ${req.cpuCount}`);
  }
  if (req.memoryMB !== undefined && !(Number.isSafeInteger(req.memoryMB) && req.memoryMB >= 64 && req.memoryMB <= limits.maxMemoryMB)) {
    fail(`memoryMB must be an integer from 64 to ${limits.maxMemoryMB}, got ${req.memoryMB}`);
  }
  let envBytes = 0;
  for (const [key, value] of Object.entries(req.envVars ?? {})) {
    if (!envName.test(key)) fail(`envVars: '${key}' is not a valid variable name`);
    if (typeof value !== "string" || value.includes("\0")) fail(`envVars.${key} must be a string without NUL bytes`);
    envBytes += key.length + value.length;
  }
  if (envBytes > 128 * 1024) fail("envVars are larger than 128 KiB");
  let metaBytes = 0;
  for (const [key, value] of Object.entries(req.metadata ?? {})) {
    if (key === "" || key.length > 256) fail("metadata keys must be 1-256 characters");
    if (typeof value !== "string") fail(`metadata.${key} must be a string`);
    metaBytes += key.length + value.length;
  }
  if (metaBytes > 64 * 1024) fail("metadata is larger than 64 KiB");
  if (req.envdAccessToken !== undefined && (typeof req.envdAccessToken !== "string" || req.envdAccessToken.length > 512)) {
    fail("envdAccessToken must be a string of at most 512 characters");
  }
}
