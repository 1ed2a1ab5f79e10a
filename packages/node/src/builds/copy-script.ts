import { shellQuote } from "@cove/builder";
import { posix } from "node:path";

export interface CopyScriptInput {
  /** The uploaded tar inside the sandbox. */
  tarPath: string;
  gzip: boolean;
  /** A path or glob relative to the build context, as the step names it. */
  src: string;
  /** Absolute (the caller resolved it against the workdir); a trailing `/` means "into this directory". */
  dest: string;
  /** Owner of the copied files. */
  user: string;
  /** Octal, or "" to keep the files' own modes. */
  mode: string;
}

/**
 * The shell script (run as root in the build sandbox) that places a COPY step's files with
 * Docker's rules: a matched directory's contents go into `dest`; files go into `dest` when it
 * ends with `/`, is a directory, or there are several; else a single file becomes `dest`.
 * `src` reaches the shell only as a variable expanded unquoted with IFS set to a newline, so it
 * globs but is never parsed as shell syntax. Owner and mode (files only) are set before the
 * copy, so files already at the destination, and the destination itself, keep theirs.
 */
export function copyScript(input: CopyScriptInput): string {
  const src =
    posix
      .normalize(input.src)
      .replace(/^(\.\/)+/, "")
      .replace(/\/+$/, "") || ".";
  const chown = input.user === "root" ? "" : `chown -R "$U:$(id -g "$U")" "$T"`;
  // Files only: a directory given a file's mode (0644) could no longer be entered.
  const chmod = input.mode === "" ? "" : `find "$T/c" ! -type d ! -type l -exec chmod ${shellQuote(input.mode)} {} +`;
  return `set -eu
T=$(mktemp -d /tmp/.cove-copy.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=${shellQuote(src)} D=${shellQuote(input.dest)} U=${shellQuote(input.user)}
mkdir -p "$T/c"
tar -x${input.gzip ? "z" : ""}f ${shellQuote(input.tarPath)} --no-same-owner -C "$T/c"
${chown}
${chmod}
cd "$T/c"
IFS='
'
set -- $S
for p in "$@"; do
  [ -e "$p" ] || [ -L "$p" ] || { echo "COPY $S: no such file in the uploaded files" >&2; exit 1; }
done
case "$D" in */) into=1 ;; *) into=0 ;; esac
if [ "$#" -gt 1 ] || [ -d "$D" ]; then into=1; fi
for p in "$@"; do
  if [ -d "$p" ] && [ ! -L "$p" ]; then
    mkdir -p "$D"
    # Its entries one by one: "$p/." would give the destination the source dir's own owner and mode.
    for c in "$p"/* "$p"/.[!.]* "$p"/..?*; do
      if [ -e "$c" ] || [ -L "$c" ]; then cp -a "$c" "$D/"; fi
    done
  elif [ "$into" = 1 ]; then
    mkdir -p "$D"
    cp -a "$p" "$D/"
  else
    mkdir -p "$(dirname "$D")"
    cp -a "$p" "$D"
  fi
done
`;
}
