import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BuilderError } from "../errors.js";
import { cleanRelative, compilePattern } from "./pattern.js";

export interface IgnoreRule {
  /** The line as written (trimmed), for messages. */
  pattern: string;
  /** A `!` line: it takes back paths an earlier line excluded. */
  exception: boolean;
  regexp: RegExp;
}

/** The rules of a .dockerignore file, in order: the last one matching a path decides. */
export type IgnoreRules = readonly IgnoreRule[];

/** Parses .dockerignore text: one pattern a line, `#` comments, `!` exceptions, leading `/` and `./` dropped. */
export function parseDockerignore(text: string): IgnoreRules {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const exception = line.startsWith("!");
    const body = (exception ? line.slice(1) : line).trim().replace(/^\/+/, "");
    // A pattern reaching above the context can only mean the context root itself.
    const cleaned = cleanRelative(body) ?? "";
    if (cleaned === "") continue;
    rules.push({ pattern: line, exception, regexp: compilePattern(cleaned) });
  }
  return rules;
}

/** The context's `.dockerignore` rules; none when it has no such file. */
export async function readDockerignore(contextDir: string): Promise<IgnoreRules> {
  try {
    return parseDockerignore(await readFile(join(contextDir, ".dockerignore"), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new BuilderError("io_failed", "cannot read the build context's .dockerignore", { cause: error });
  }
}

/**
 * Whether a context-relative path is excluded. As in Docker, a pattern that matches a parent
 * directory matches everything below it, and the last matching line wins.
 */
export function isIgnored(rules: IgnoreRules, path: string): boolean {
  if (path === "") return false;
  const parts = path.split("/");
  let ignored = false;
  for (const rule of rules) {
    // Only a rule that could flip the current answer needs testing.
    if (rule.exception !== ignored) continue;
    let matches = false;
    for (let depth = parts.length; depth > 0 && !matches; depth--) {
      matches = rule.regexp.test(parts.slice(0, depth).join("/"));
    }
    if (matches) ignored = !rule.exception;
  }
  return ignored;
}

/** Whether any rule could re-include something below an excluded directory, so the walk cannot skip it. */
export function hasExceptions(rules: IgnoreRules): boolean {
  return rules.some((rule) => rule.exception);
}
