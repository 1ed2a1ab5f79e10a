/** Splits a Dockerfile into logical instructions: parser directives, comments, blank lines and continuations. */

export interface RawInstruction {
  /** 1-based line where the instruction starts (what error messages name). */
  line: number;
  /** Upper-cased keyword, e.g. `RUN`. */
  keyword: string;
  /** Everything after the keyword, continuations joined, outer whitespace trimmed. */
  rest: string;
}

export interface SplitDockerfile {
  /** The escape character: `\` unless the `# escape=` directive says otherwise. */
  escape: string;
  instructions: RawInstruction[];
  /** Directives Cove reads but does not act on (e.g. `syntax`), with their line. */
  ignoredDirectives: Array<{ line: number; name: string }>;
}

/** A malformed line; the parser turns it into a `dockerfile_syntax` error. */
export class LineError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

const DIRECTIVE = /^#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(.*?)\s*$/;
/** The directives Docker knows; any other `# name=value` line is a comment and ends the directives, as in Docker. */
const KNOWN_DIRECTIVES = new Set(["escape", "syntax", "check"]);
const COMMENT = /^\s*#/;
const BLANK = /^\s*$/;

export function splitDockerfile(text: string): SplitDockerfile {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let escape = "\\";
  const seen = new Set<string>();
  const ignoredDirectives: SplitDockerfile["ignoredDirectives"] = [];
  let index = 0;
  // Directives count only at the very top: the first other line (even a blank one) ends them.
  for (; index < lines.length; index++) {
    const match = DIRECTIVE.exec(lines[index] ?? "");
    const name = (match?.[1] ?? "").toLowerCase();
    if (!match || !KNOWN_DIRECTIVES.has(name)) break;
    const value = match[2] ?? "";
    if (seen.has(name)) throw new LineError(index + 1, `the ${name} parser directive is given twice`);
    seen.add(name);
    if (name === "escape") {
      if (value !== "\\" && value !== "`") throw new LineError(index + 1, `invalid escape character ${JSON.stringify(value)}: use \\ or \``);
      escape = value;
    } else {
      ignoredDirectives.push({ line: index + 1, name });
    }
  }
  const continuation = new RegExp(`${escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  const instructions: RawInstruction[] = [];
  while (index < lines.length) {
    const first = lines[index] ?? "";
    const start = index + 1;
    index++;
    if (BLANK.test(first) || COMMENT.test(first)) continue;
    let text = first;
    while (continuation.test(text)) {
      text = text.replace(continuation, "");
      // Comment and blank lines inside a continuation are dropped, as Docker does.
      while (index < lines.length && (BLANK.test(lines[index] ?? "") || COMMENT.test(lines[index] ?? ""))) index++;
      if (index >= lines.length) break;
      text += lines[index];
      index++;
    }
    const match = /^\s*(\S+)\s*([\s\S]*?)\s*$/.exec(text);
    if (!match) continue;
    instructions.push({ line: start, keyword: (match[1] ?? "").toUpperCase(), rest: match[2] ?? "" });
  }
  return { escape, instructions, ignoredDirectives };
}
