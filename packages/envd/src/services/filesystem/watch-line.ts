import { EventType } from "@cove/protocol/filesystem";

/** One line of cove-watch output (protocol documented in native/cove-watch.c). */
export type WatchLine = { kind: "event"; type: EventType; name: string } | { kind: "ready" } | { kind: "overflow" } | { kind: "error"; message: string };

const eventTypes: Record<string, EventType> = {
  CREATE: EventType.CREATE,
  WRITE: EventType.WRITE,
  REMOVE: EventType.REMOVE,
  RENAME: EventType.RENAME,
  CHMOD: EventType.CHMOD,
};

/** Parses one line (without its newline); undefined for anything unrecognised. */
export function parseWatchLine(line: string): WatchLine | undefined {
  const tab = line.indexOf("\t");
  if (tab === -1) return undefined;
  const tag = line.slice(0, tab);
  const rest = unescapeField(line.slice(tab + 1));
  if (tag === "READY") return { kind: "ready" };
  if (tag === "OVERFLOW") return { kind: "overflow" };
  if (tag === "ERROR") return { kind: "error", message: rest };
  const type = eventTypes[tag];
  return type === undefined ? undefined : { kind: "event", type, name: rest };
}

/** Reverses the helper's escaping: "\\\\" → "\\", "\\t" → TAB, "\\n" → LF. */
export function unescapeField(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\([\\tn])/g, (_, c: string) => (c === "t" ? "\t" : c === "n" ? "\n" : "\\"));
}
