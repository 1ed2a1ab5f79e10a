import type { LineContext } from "./context.js";
import { splitWords, type Variables } from "./words.js";

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `ENV k=v k2="v 2"` or the legacy `ENV k v w` (the value is the rest of the line). Values are
 * expanded with the variables from before the line, so `ENV A=1 B=$A` sees the old A, as in Docker.
 */
export function envPairs(ctx: LineContext, rest: string, vars: Variables): Array<[string, string]> {
  const words = splitWords(rest, ctx.escape);
  const first = words[0];
  if (first === undefined) throw ctx.fail("syntax", "ENV needs at least one name=value");
  if (!first.includes("=")) {
    const legacy = /^(\S+)\s+([\s\S]+)$/.exec(rest);
    if (!legacy) throw ctx.fail("syntax", `ENV ${first} has no value: write ENV ${first}=value`);
    return [[checkName(ctx, legacy[1] ?? ""), ctx.expand(legacy[2] ?? "", vars)]];
  }
  return words.map((word) => {
    const eq = word.indexOf("=");
    if (eq < 0) throw ctx.fail("syntax", `${word} is not of the form name=value`);
    return [checkName(ctx, ctx.expand(word.slice(0, eq), vars)), ctx.expand(word.slice(eq + 1), vars)];
  });
}

/** `ARG name[=default] ...`; a declaration without a default has an undefined value. */
export function argDeclarations(ctx: LineContext, rest: string, vars: Variables): Array<{ name: string; value: string | undefined }> {
  const words = splitWords(rest, ctx.escape);
  if (words.length === 0) throw ctx.fail("syntax", "ARG needs a name");
  return words.map((word) => {
    const eq = word.indexOf("=");
    if (eq < 0) return { name: checkName(ctx, word), value: undefined };
    return { name: checkName(ctx, word.slice(0, eq)), value: ctx.expand(word.slice(eq + 1), vars) };
  });
}

function checkName(ctx: LineContext, name: string): string {
  // Stricter than Docker for ENV (which takes `a.b`): the executor and a shell can only use these.
  if (!NAME.test(name)) {
    throw ctx.fail("syntax", `invalid variable name ${JSON.stringify(name)}`);
  }
  return name;
}
