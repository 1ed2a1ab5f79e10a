import { shellQuote } from "../dockerfile/shell-quote.js";

// Shell scripts the builder runs as root for steps that are not commands themselves. Every value
// is single-quoted, never interpolated into the script's text.

/** WORKDIR: creates the directory (as Docker does) and gives a new one to the step's user, so they can write in it. */
export function workdirScript(dir: string, user: string): string {
  const chown = user === "root" ? "" : ` && { ! id -u "$u" >/dev/null 2>&1 || chown "$u:$(id -g "$u")" "$d"; }`;
  return `d=${shellQuote(dir)} u=${shellQuote(user)}; [ -d "$d" ] || { mkdir -p -- "$d"${chown}; }`;
}

/**
 * USER: creates a named user that does not exist yet, with a home (E2B does; Docker would fail at
 * the next RUN). Without useradd or adduser (busybox images) it writes /etc/passwd and /etc/group
 * itself, with the first free id from 1000.
 */
export function userScript(user: string): string {
  if (/^[0-9]/.test(user)) return "true";
  return [
    `u=${shellQuote(user)}`,
    `while IFS=: read -r n _; do [ "$n" = "$u" ] && exit 0; done < /etc/passwd`,
    `if command -v useradd >/dev/null; then useradd --create-home --shell /bin/sh "$u"`,
    `elif command -v adduser >/dev/null; then adduser -D "$u"`,
    `else`,
    `  taken() { while IFS=: read -r _n _p id _r; do [ "$id" = "$1" ] && return 0; done < "$2"; return 1; }`,
    `  i=1000; while taken "$i" /etc/passwd || taken "$i" /etc/group; do i=$((i + 1)); done`,
    `  echo "$u:x:$i:$i::/home/$u:/bin/sh" >> /etc/passwd && echo "$u:x:$i:" >> /etc/group`,
    `  mkdir -p "/home/$u" && chown "$i:$i" "/home/$u"`,
    `fi`,
  ].join("\n");
}
