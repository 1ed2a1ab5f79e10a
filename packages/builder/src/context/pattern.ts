/**
 * Docker's path patterns (COPY sources and .dockerignore lines) as regular expressions over
 * context-relative POSIX paths: `*` and `?` stay inside one path segment, `[...]` is a class,
 * `**` spans any number of segments (none included), and `\` makes the next character literal.
 */
export function compilePattern(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] ?? "";
    if (ch === "*" && pattern[i + 1] === "*") {
      i++;
      if (pattern[i + 1] === "/") {
        i++;
        source += "(?:.*/)?";
      } else {
        source += ".*";
      }
    } else if (ch === "*") {
      source += "[^/]*";
    } else if (ch === "?") {
      source += "[^/]";
    } else if (ch === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        source += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith("!") || body.startsWith("^")) body = `^${body.slice(1)}`;
      source += `[${body.replace(/[\\\]]/g, "\\$&")}]`;
      i = end;
    } else if (ch === "\\" && i + 1 < pattern.length) {
      i++;
      source += escapeRegExp(pattern[i] ?? "");
    } else {
      source += escapeRegExp(ch);
    }
  }
  return new RegExp(`^${source}$`, "s");
}

/** Whether a path has glob characters, so it must be matched rather than looked up. */
export function hasMagic(path: string): boolean {
  return /[*?[\\]/.test(path);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** `./a//b/` → `a/b`; the context root is "". Undefined when the path leaves the context (`..`) or is absolute. */
export function cleanRelative(path: string): string | undefined {
  if (path.startsWith("/")) return undefined;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  return parts.join("/");
}
