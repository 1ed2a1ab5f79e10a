/**
 * Docker's word rules for the instructions it expands itself (ENV, ARG, COPY, ADD, WORKDIR, USER, FROM):
 * quotes are removed, the escape character protects the next character, and `$VAR`, `${VAR}` and the
 * `${VAR:-word}` family are substituted. RUN, CMD and ENTRYPOINT never come through here (the shell does it).
 */

/**
 * Variables visible to a line. A name mapped to `undefined` is declared but unset (an `ARG` without a value):
 * it expands to "" and the `-`/`+` forms treat it as unset. A name absent from the map is unknown: Cove
 * resolves every variable when it parses, so an unknown one is refused rather than silently made empty.
 */
export type Variables = ReadonlyMap<string, string | undefined>;

/** Why a word could not be expanded; the parser adds the file, line and instruction. */
export class WordError extends Error {
  constructor(
    readonly kind: "syntax" | "unsupported",
    message: string,
  ) {
    super(message);
  }
}

class Scanner {
  private pos = 0;
  constructor(private readonly text: string) {}
  eof(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? "";
  }
  next(): string {
    const ch = this.text[this.pos] ?? "";
    this.pos++;
    return ch;
  }
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Expands one word: quote removal, escapes and substitution. */
export function expandWord(word: string, vars: Variables, escape: string): string {
  return readUntil(new Scanner(word), vars, escape, undefined);
}

function readUntil(s: Scanner, vars: Variables, escape: string, stop: string | undefined): string {
  let out = "";
  while (!s.eof()) {
    if (stop !== undefined && s.peek() === stop) return out;
    const ch = s.next();
    if (ch === escape) {
      // A trailing escape is dropped, as Docker does.
      if (!s.eof()) out += s.next();
    } else if (ch === "'") {
      out += readSingleQuoted(s);
    } else if (ch === '"') {
      out += readDoubleQuoted(s, vars, escape);
    } else if (ch === "$") {
      out += readDollar(s, vars, escape);
    } else {
      out += ch;
    }
  }
  if (stop !== undefined) throw new WordError("syntax", "a variable substitution is missing its closing brace");
  return out;
}

function readSingleQuoted(s: Scanner): string {
  let out = "";
  while (!s.eof()) {
    const ch = s.next();
    if (ch === "'") return out;
    out += ch;
  }
  throw new WordError("syntax", "unterminated single quote");
}

function readDoubleQuoted(s: Scanner, vars: Variables, escape: string): string {
  let out = "";
  while (!s.eof()) {
    const ch = s.next();
    if (ch === '"') return out;
    if (ch === "$") {
      out += readDollar(s, vars, escape);
    } else if (ch === escape) {
      if (s.eof()) break;
      // Only these can be escaped inside double quotes; any other escape stays as written.
      const after = s.peek();
      out += after === '"' || after === "$" || after === escape ? s.next() : ch;
    } else {
      out += ch;
    }
  }
  throw new WordError("syntax", "unterminated double quote");
}

function readName(s: Scanner): string {
  if (!NAME_START.test(s.peek())) return "";
  let name = s.next();
  while (!s.eof() && NAME_CHAR.test(s.peek())) name += s.next();
  return name;
}

function lookup(vars: Variables, name: string): string {
  if (!vars.has(name)) {
    throw new WordError(
      "unsupported",
      `variable ${name} is not defined (Cove substitutes variables when it parses: declare it with ARG or ENV, or give the base image's env)`,
    );
  }
  return vars.get(name) ?? "";
}

function readDollar(s: Scanner, vars: Variables, escape: string): string {
  if (s.peek() !== "{") {
    const name = readName(s);
    return name === "" ? "$" : lookup(vars, name);
  }
  s.next();
  const name = readName(s);
  if (name === "") throw new WordError("syntax", "bad substitution: ${ must be followed by a variable name");
  if (s.peek() === "}") {
    s.next();
    return lookup(vars, name);
  }
  const colon = s.peek() === ":";
  if (colon) s.next();
  const op = s.next();
  if (op !== "-" && op !== "+" && op !== "?") {
    throw new WordError(
      "unsupported",
      `substitution \${${name}${colon ? ":" : ""}${op}...} is not supported (use $VAR, \${VAR}, \${VAR:-word}, \${VAR:+word} or \${VAR:?word})`,
    );
  }
  const word = readUntil(s, vars, escape, "}");
  s.next();
  const value = vars.get(name);
  // With the colon an empty value counts as unset, as in the shell.
  const isSet = value !== undefined && (!colon || value !== "");
  if (op === "-") return isSet ? value : word;
  if (op === "+") return isSet ? word : "";
  if (!isSet) throw new WordError("syntax", `${name}: ${word || "is not set"}`);
  return value;
}

/**
 * Splits an instruction's text on unquoted whitespace, keeping quotes and escapes in the words
 * (expandWord removes them later), as Docker does for ENV, ARG, COPY and ADD.
 */
export function splitWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? "";
    if (quote === "" && /\s/.test(ch)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    word += ch;
    if (ch === escape && quote !== "'" && i + 1 < text.length) {
      word += text[++i];
    } else if (quote === "" && (ch === "'" || ch === '"')) {
      quote = ch;
    } else if (ch === quote) {
      quote = "";
    }
  }
  if (inWord) words.push(word);
  return words;
}
