import { posix } from "node:path";
import type { BuildStep } from "../build-spec.js";
import type { LineContext } from "./context.js";
import { execForm, hasHeredoc, takeFlags } from "./forms.js";
import { splitWords, type Variables } from "./words.js";

const REMOTE = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/|git@)/;
// Docker recognises archives by their bytes; at parse time the name is all there is.
const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma|tlz)$/i;

const REFUSED_FLAGS: Readonly<Record<string, string>> = {
  from: "copying from another build stage or image needs a multi-stage build",
  parents: "Cove copies sources as Docker does without it",
  exclude: "use .dockerignore instead",
  checksum: "it applies to remote sources only, which Cove does not fetch",
  "keep-git-dir": "it applies to git sources only, which Cove does not fetch",
};

/**
 * COPY and ADD of local files: one COPY step per source, as the SDK sends them (`[src, dest, user, mode]`).
 * ADD becomes COPY because everything ADD does beyond COPY (URLs, archive extraction) is refused.
 */
export function copySteps(ctx: LineContext, text: string, vars: Variables): BuildStep[] {
  if (hasHeredoc(text, ctx.escape)) throw ctx.fail("unsupported", "heredocs are not supported: put the file in the build context");
  const { flags, rest } = takeFlags(text);
  ctx.checkFlags(flags, ["chown", "chmod", "link"], REFUSED_FLAGS);
  let user = "";
  let mode = "";
  for (const flag of flags) {
    if (flag.name === "chown") user = ctx.expand(flag.value ?? "", vars);
    if (flag.name === "chmod") mode = octalMode(ctx, ctx.expand(flag.value ?? "", vars));
  }
  if (flags.some((flag) => flag.name === "chown") && user === "") throw ctx.fail("syntax", "--chown needs a user[:group]");
  const words = execForm(rest) ?? splitWords(rest, ctx.escape);
  const args = words.map((word) => ctx.expand(word, vars));
  if (args.length < 2) throw ctx.fail("syntax", `${ctx.keyword} needs at least one source and a destination`);
  const dest = args[args.length - 1] ?? "";
  const sources = args.slice(0, -1);
  if (dest === "") throw ctx.fail("syntax", "the destination is empty");
  if (sources.length > 1 && !dest.endsWith("/")) throw ctx.fail("syntax", `with more than one source the destination must be a directory ending in /: ${dest}`);
  return sources.map((src) => {
    checkSource(ctx, src);
    return { type: "COPY", args: [src, dest, user, mode], force: false };
  });
}

function octalMode(ctx: LineContext, value: string): string {
  if (!/^[0-7]{3,4}$/.test(value)) throw ctx.fail("syntax", `--chmod takes an octal mode such as 0755, not ${JSON.stringify(value)}`);
  return value.padStart(4, "0");
}

function checkSource(ctx: LineContext, src: string): void {
  if (src === "") throw ctx.fail("syntax", "a source is empty");
  if (REMOTE.test(src)) throw ctx.fail("unsupported", `remote source ${src} is not supported: download it in a RUN step`);
  if (ctx.keyword === "ADD" && ARCHIVE.test(src)) {
    throw ctx.fail("unsupported", `ADD extracts local archives such as ${src}; Cove does not: COPY it and extract it in a RUN step`);
  }
  if (src.startsWith("/")) throw ctx.fail("unsupported", `source ${src} is absolute: sources are paths inside the build context`);
  const normalized = posix.normalize(src);
  if (normalized === ".." || normalized.startsWith("../")) throw ctx.fail("unsupported", `source ${src} is outside the build context`);
}
