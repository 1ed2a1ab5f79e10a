import type { IncomingHttpHeaders, IncomingMessage } from "node:http";

/** Where a request is headed: a TCP port inside one sandbox. */
export interface SandboxTarget {
  sandboxId: string;
  port: number;
}

export type TargetErrorCode = "missing_sandbox_id" | "missing_port" | "invalid_sandbox_id" | "invalid_port";

/** The request names a sandbox but does so incorrectly; answer 400. */
export interface TargetError {
  error: TargetErrorCode;
  message: string;
}

export interface TargetInput {
  host?: string | undefined;
  headers: IncomingHttpHeaders;
}

export const SANDBOX_ID_HEADER = "e2b-sandbox-id";
export const SANDBOX_PORT_HEADER = "e2b-sandbox-port";

const SANDBOX_ID = /^[a-z0-9]{1,63}$/;
const PORT = /^[0-9]{1,5}$/;

export function isTargetError(r: SandboxTarget | TargetError | undefined): r is TargetError {
  return r !== undefined && "error" in r;
}

/**
 * Finds the sandbox a request is for.
 *
 * Contract:
 * - Header form wins: if either `E2b-Sandbox-Id` or `E2b-Sandbox-Port` is present, both are
 *   required and valid, whatever the Host is (a single E2B_SANDBOX_URL gateway may have any
 *   name). A half-specified or malformed pair is a TargetError, never a fallback to the Host.
 * - Host form: `{port}-{sandboxId}.{domain}`. With `domain` given, the Host (port stripped,
 *   case-insensitive) must be exactly one label below the domain's hostname. Without a domain,
 *   any host whose left-most label has the shape `{port}-{id}` and that has at least one more
 *   label is accepted (the domain check is the deployment's job then).
 * - Anything else is `undefined`: not a sandbox request (e.g. the control-plane API).
 *   A Host that looks like `{digits}-{x}` but has a bad port or id is also `undefined`,
 *   so API hosts can never be hijacked by garbage.
 */
export function parseSandboxTarget(input: TargetInput, domain?: string): SandboxTarget | TargetError | undefined {
  const id = single(input.headers[SANDBOX_ID_HEADER]);
  const port = single(input.headers[SANDBOX_PORT_HEADER]);
  if (id !== undefined || port !== undefined) return fromHeaders(id?.trim(), port?.trim());
  const host = input.host ?? single(input.headers.host);
  return host === undefined ? undefined : fromHost(host, domain);
}

/** True when the request is for a sandbox (or names one badly): the proxy should answer it. */
export function isSandboxRequest(req: Pick<IncomingMessage, "headers">, domain?: string): boolean {
  return parseSandboxTarget({ headers: req.headers }, domain) !== undefined;
}

function fromHeaders(id: string | undefined, port: string | undefined): SandboxTarget | TargetError {
  if (id === undefined || id === "") return { error: "missing_sandbox_id", message: "E2b-Sandbox-Id header is required with E2b-Sandbox-Port" };
  if (port === undefined || port === "") return { error: "missing_port", message: "E2b-Sandbox-Port header is required with E2b-Sandbox-Id" };
  if (!SANDBOX_ID.test(id)) return { error: "invalid_sandbox_id", message: `invalid sandbox id '${shown(id)}'` };
  const n = parsePort(port);
  if (n === undefined) return { error: "invalid_port", message: `invalid sandbox port '${shown(port)}'` };
  return { sandboxId: id, port: n };
}

function fromHost(rawHost: string, domain: string | undefined): SandboxTarget | undefined {
  const host = hostname(rawHost);
  const dot = host.indexOf(".");
  if (dot <= 0) return undefined;
  const label = host.slice(0, dot);
  const rest = host.slice(dot + 1);
  if (rest === "") return undefined;
  if (domain !== undefined && rest !== hostname(domain)) return undefined;
  const dash = label.indexOf("-");
  if (dash <= 0) return undefined;
  const port = parsePort(label.slice(0, dash));
  const sandboxId = label.slice(dash + 1);
  if (port === undefined || !SANDBOX_ID.test(sandboxId)) return undefined;
  return { sandboxId, port };
}

function parsePort(s: string): number | undefined {
  if (!PORT.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** Lowercased host without `:port` and without a trailing dot. */
function hostname(h: string): string {
  let s = h.trim().toLowerCase();
  const colon = s.lastIndexOf(":");
  if (colon >= 0 && !s.endsWith("]")) s = s.slice(0, colon);
  if (s.endsWith(".")) s = s.slice(0, -1);
  return s;
}

/** Caller input as echoed in an error: short, and only printable ASCII (header values arrive as latin1). */
function shown(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 64 ? `${clean.slice(0, 64)}...` : clean;
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
