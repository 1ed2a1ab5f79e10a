// Shell scripts the builder runs as root for steps that are not commands themselves. Every value
// is single-quoted, never interpolated into the script's text.

export function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** WORKDIR: creates the directory (as Docker does) and gives a new one to the step's user, so they can write in it. */
export function workdirScript(dir: string, user: string): string {
  const chown = user === "root" ? "" : ` && { ! id -u "$u" >/dev/null 2>&1 || chown "$u:$(id -g "$u")" "$d"; }`;
  return `d=${quote(dir)} u=${quote(user)}; [ -d "$d" ] || { mkdir -p -- "$d"${chown}; }`;
}

/** USER: creates a named user that does not exist yet, with a home (E2B does; Docker would fail at the next RUN). */
export function userScript(user: string): string {
  if (/^[0-9]/.test(user)) return "true";
  return [
    `u=${quote(user)}`,
    `id -u "$u" >/dev/null 2>&1 && exit 0`,
    `if command -v useradd >/dev/null; then useradd --create-home --shell /bin/sh "$u"`,
    `elif command -v adduser >/dev/null; then adduser -D "$u"`,
    `else echo "cannot create user $u: no useradd or adduser in the image" >&2; exit 1; fi`,
  ].join("\n");
}
