import { BuilderError } from "../errors.js";
import type { Flag } from "./forms.js";
import { type Variables, WordError, expandWord } from "./words.js";

/** What every instruction handler gets: where it is, and how to fail or expand words there. */
export class LineContext {
  constructor(
    readonly fileName: string,
    readonly line: number,
    readonly keyword: string,
    readonly escape: string,
  ) {}

  /** An error naming `<file>:<line>: INSTRUCTION: why`. */
  fail(kind: "syntax" | "unsupported", why: string): BuilderError {
    return new BuilderError(kind === "syntax" ? "dockerfile_syntax" : "dockerfile_unsupported", `${this.fileName}:${this.line}: ${this.keyword}: ${why}`);
  }

  warn(why: string): string {
    return `${this.fileName}:${this.line}: ${this.keyword}: ${why}`;
  }

  expand(word: string, vars: Variables): string {
    try {
      return expandWord(word, vars, this.escape);
    } catch (error) {
      if (error instanceof WordError) throw this.fail(error.kind, error.message);
      throw error;
    }
  }

  /** Refuses any flag not in `allowed`; `refused` maps flags Cove knows but does not support to the reason. */
  checkFlags(flags: readonly Flag[], allowed: readonly string[], refused: Readonly<Record<string, string>> = {}): void {
    for (const flag of flags) {
      const reason = refused[flag.name];
      if (reason !== undefined) throw this.fail("unsupported", `--${flag.name} is not supported: ${reason}`);
      if (!allowed.includes(flag.name)) throw this.fail("syntax", `unknown flag --${flag.name}`);
    }
  }
}
