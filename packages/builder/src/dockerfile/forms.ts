/** The two argument shapes of Dockerfile instructions: leading `--flags`, and exec (JSON array) vs shell form. */

import { splitWords } from "./words.js";

export interface Flag {
  name: string;
  /** Undefined for a bare `--flag`. Raw text: the caller expands it if Docker does. */
  value: string | undefined;
}

/** Takes the leading `--name[=value]` words off an instruction's text. */
export function takeFlags(rest: string): { flags: Flag[]; rest: string } {
  const flags: Flag[] = [];
  let text = rest;
  for (;;) {
    const match = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(text);
    if (!match) break;
    flags.push({ name: (match[1] ?? "").toLowerCase(), value: match[2] });
    text = text.slice(match[0].length);
  }
  return { flags, rest: text };
}

/**
 * The exec form's argv when the text is a JSON array of strings; undefined means shell form.
 * Like Docker, text that merely starts with `[` but is not such an array is shell form.
 */
export function execForm(text: string): string[] | undefined {
  if (!text.startsWith("[")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === "string")) return undefined;
  return parsed;
}

/**
 * A heredoc in a RUN, COPY or ADD: like BuildKit, a word (quote-aware) that is `<<NAME`, `<<-NAME` or
 * `<<"NAME"`. A shift (`$((1<<N))`), a here-string (`<<<`) or `<<` inside quotes is not one.
 */
export function hasHeredoc(text: string, escape: string): boolean {
  return splitWords(text, escape).some((word) => /^<<-?(["']?)[A-Za-z_][A-Za-z0-9_]*\1$/.test(word));
}
