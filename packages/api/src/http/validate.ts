import { ApiError, invalid } from "../errors.js";

/**
 * The edge's rules for what a caller may put in a path, a query or a body field. Everything
 * a request carries passes one of these before it reaches the database, the node or envd:
 * Postgres refuses NUL in text and invalid Unicode escapes in jsonb, so an unchecked value
 * would turn a bad request into a 500.
 */

/** Ids as the node issues them (its own pattern: a DNS label of [a-z0-9-]). */
export const SANDBOX_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Template names the node stores, plus the `namespace/name:tag` forms E2B clients may send. */
export const TEMPLATE_REF = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$/;
/** Key ids are random UUIDs, as `randomUUID` writes them. */
export const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Opaque tokens of routes Cove answers 501 to (template builds, file hashes). */
export const OPAQUE_ID = /^[A-Za-z0-9._-]{1,128}$/;
/** A Linux user name as envd resolves it. */
export const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
/** Environment variable names: anything a process environment can hold (no `=`, no NUL). */
export const ENV_NAME = /^[^=\0]{1,256}$/;
/** RFC 3339 with a four-digit year: always inside the database's timestamp range. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** The longest file path envd accepts (Linux PATH_MAX). */
export const MAX_PATH = 4096;
/** Team and key names: shown in listings, one line. */
export const MAX_NAME = 200;
/**
 * The largest integer field a body or query may carry: it fits the database's integer columns,
 * and as seconds it still fits Node's timers once turned into milliseconds (2^31 - 1 ms).
 */
export const MAX_INTEGER_FIELD = 2_147_483;

// A lone surrogate: JSON.stringify writes it as an escape that jsonb refuses.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Text the database and the wire can carry: no NUL byte, no lone surrogate. */
export function isCleanText(s: string): boolean {
  return !s.includes("\0") && !LONE_SURROGATE.test(s);
}

/** What each path parameter names; every `:param` of every route needs a rule here (a test checks). */
export const PARAM_RULES = {
  sandboxID: { what: "sandbox", pattern: SANDBOX_ID },
  templateID: { what: "template", pattern: TEMPLATE_REF },
  alias: { what: "template alias", pattern: TEMPLATE_REF },
  keyID: { what: "key", pattern: KEY_ID },
  buildID: { what: "build", pattern: OPAQUE_ID },
  hash: { what: "file", pattern: OPAQUE_ID },
  // The API docs' assets (public paths: the hook never sees them; listed so every route has a rule).
  file: { what: "file", pattern: OPAQUE_ID },
} as const satisfies Record<string, { what: string; pattern: RegExp }>;

export type ParamName = keyof typeof PARAM_RULES;

const isParamName = (name: string): name is ParamName => Object.hasOwn(PARAM_RULES, name);

/**
 * Path parameters: a value that cannot be an id of its kind is one that does not exist, so it is
 * a 404 as for an unknown id (E2B's SDK maps 404 to its NotFound errors). The message does not
 * echo the value: it may be huge or unprintable.
 */
export function checkParams(params: unknown): void {
  if (params === null || typeof params !== "object") return;
  for (const [name, value] of Object.entries(params)) {
    // The not-found handler's catch-all: no route, nothing to look up.
    if (name === "*") continue;
    if (!isParamName(name)) throw new ApiError("internal", "internal error", { cause: new Error(`path parameter '${name}' has no rule in PARAM_RULES`) });
    const rule = PARAM_RULES[name];
    if (typeof value !== "string" || !rule.pattern.test(value)) throw new ApiError("not_found", `${rule.what} not found (malformed id)`);
  }
}

/** Every query parameter, whatever the route: names and values must be clean text. */
export function checkQuery(query: unknown): void {
  if (query === null || typeof query !== "object") return;
  for (const [name, value] of Object.entries(query)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (!isCleanText(name) || values.some((v) => typeof v === "string" && !isCleanText(v))) {
      throw invalid(`query parameter '${printable(name)}' contains a NUL byte or invalid Unicode`);
    }
  }
}

/** A filter by template in a query: malformed is a bad request, not an empty result. */
export function checkTemplateFilter(value: string, field: string): string {
  if (!TEMPLATE_REF.test(value)) throw invalid(`${field} is not a template name`);
  return value;
}

/** A template reference in a create body: one that cannot exist is not found, like an unknown one. */
export function checkTemplateRef(value: string): string {
  if (!TEMPLATE_REF.test(value)) throw new ApiError("not_found", "template not found (malformed name)");
  return value;
}

/** Metadata is stored as jsonb and matched with `@>`: keys and values must be clean text. */
export function checkMetadata(map: Record<string, string>, field: string): Record<string, string> {
  for (const [k, v] of Object.entries(map)) {
    if (!isCleanText(k) || !isCleanText(v)) throw invalid(`${field} keys and values must not contain NUL bytes or invalid Unicode`);
  }
  return map;
}

/** Environment variables for a process: names without `=`, nothing with NUL. */
export function checkEnvVars(map: Record<string, string>, field: string): Record<string, string> {
  for (const [k, v] of Object.entries(map)) {
    if (!ENV_NAME.test(k) || !isCleanText(k)) throw invalid(`${field} has an invalid variable name (empty, with '=' or NUL, or over 256 characters)`);
    if (!isCleanText(v)) throw invalid(`${field}.${printable(k)} must not contain NUL bytes or invalid Unicode`);
  }
  return map;
}

/** A team or key name: one printable line. */
export function checkName(value: string, field: string): string {
  if (value === "" || value.length > MAX_NAME || CONTROL.test(value) || !isCleanText(value)) {
    throw invalid(`${field} must be 1 to ${MAX_NAME} characters without control characters`);
  }
  return value;
}

export function checkUser(value: string, field: string): string {
  if (!USER_NAME.test(value)) throw invalid(`${field} must be a user name ([A-Za-z0-9_.-], up to 32 characters)`);
  return value;
}

/** A path inside the sandbox (a file, a working directory). */
export function checkPath(value: string, field: string): string {
  if (value === "" || value.length > MAX_PATH || !isCleanText(value)) {
    throw invalid(`${field} must be 1 to ${MAX_PATH} characters without NUL bytes or invalid Unicode`);
  }
  return value;
}

/** Linux refuses a single exec argument this long or longer (MAX_ARG_STRLEN), and the command is one (`bash -c`). */
export const MAX_COMMAND_BYTES = 131_072;

/** A command for `bash -l -c`: what the kernel can exec, checked here so it is a 400 rather than envd's failure. */
export function checkCommand(value: string, field: string): string {
  if (!isCleanText(value)) throw invalid(`${field} must not contain NUL bytes or invalid Unicode`);
  if (Buffer.byteLength(value) >= MAX_COMMAND_BYTES) throw invalid(`${field} must be shorter than ${MAX_COMMAND_BYTES} bytes (send long scripts as a file)`);
  return value;
}

/** An RFC 3339 time; undefined when the text is not one. */
export function parseTime(text: string): Date | undefined {
  if (!RFC3339.test(text)) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** A short, single-line rendering of caller input for an error message. */
export function printable(s: string, max = 64): string {
  const clean = s.replace(/[\u0000-\u001f\u007f\uD800-\uDFFF]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
