/** One line of the /execute NDJSON stream (spec §7), as the SDK parses it. */
export type OutputLine =
  | { type: "number_of_executions"; execution_count: number }
  | { type: "stdout" | "stderr"; text: string; timestamp: string }
  | ({ type: "result"; is_main_result: boolean } & ResultFields)
  | { type: "error"; name: string; value: string; traceback: string }
  | { type: "end_of_execution" }
  | { type: "keepalive" };

export interface ResultFields {
  text?: string;
  html?: string;
  markdown?: string;
  svg?: string;
  png?: string;
  jpeg?: string;
  pdf?: string;
  latex?: string;
  json?: unknown;
  javascript?: string;
  data?: unknown;
  chart?: unknown;
  extra?: Record<string, unknown>;
}

/** MIME type → the result field the SDK reads it from. */
const FIELDS: Readonly<Record<string, keyof ResultFields>> = {
  "text/plain": "text",
  "text/html": "html",
  "text/markdown": "markdown",
  "image/svg+xml": "svg",
  "image/png": "png",
  "image/jpeg": "jpeg",
  "application/pdf": "pdf",
  "text/latex": "latex",
  "application/json": "json",
  "application/javascript": "javascript",
  "e2b/data": "data",
  "e2b/chart": "chart",
};

/**
 * Turns a kernel's MIME bundle into a result line. text/plain loses one pair
 * of surrounding quotes (a Python or JS string's repr), as E2B's server does;
 * MIME types without a field of their own go to `extra`.
 */
export function resultLine(bundle: Readonly<Record<string, unknown>>, isMainResult: boolean): OutputLine {
  const fields: ResultFields = {};
  const extra: Record<string, unknown> = {};
  for (const [mime, value] of Object.entries(bundle)) {
    if (value === null || value === undefined) continue;
    const field = FIELDS[mime];
    if (field === undefined) {
      extra[mime] = value;
    } else if (field === "text" && typeof value === "string") {
      fields.text = stripQuotes(value);
    } else {
      (fields as Record<string, unknown>)[field] = value;
    }
  }
  if (Object.keys(extra).length > 0) fields.extra = extra;
  return { type: "result", is_main_result: isMainResult, ...fields };
}

function stripQuotes(text: string): string {
  if (text.length >= 2 && ((text.startsWith("'") && text.endsWith("'")) || (text.startsWith('"') && text.endsWith('"')))) {
    return text.slice(1, -1);
  }
  return text;
}

/**
 * One NDJSON line: JSON with every non-ASCII character escaped as \uXXXX (the
 * SDK decodes each network chunk on its own, so a multi-byte character split
 * across chunks would be garbled) and a terminating newline. JSON.stringify
 * never emits a raw newline, so the line is never blank or split.
 */
export function encodeLine(line: OutputLine): string {
  return `${JSON.stringify(line).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}\n`;
}
