/** Where command output goes; `process.stdout` in the CLI, a buffer in tests. */
export interface Output {
  write(chunk: string): unknown;
}

/** Column-aligned plain text: two spaces between columns, no trailing blanks, header first. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    widths
      .map((w, i) => (i === widths.length - 1 ? (cells[i] ?? "") : (cells[i] ?? "").padEnd(w)))
      .join("  ")
      .trimEnd();
  return `${[headers, ...rows].map(line).join("\n")}\n`;
}

export function printTable(out: Output, headers: readonly string[], rows: readonly (readonly string[])[]): void {
  out.write(formatTable(headers, rows));
}

/** Pretty JSON (dates as ISO strings, via `Date.toJSON`), one trailing newline. */
export function printJson(out: Output, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A timestamp for tables: ISO 8601 to the second, UTC; "-" for none. */
export function formatTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return "-";
  const date = typeof value === "string" ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
