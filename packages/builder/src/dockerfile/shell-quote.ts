/** POSIX-shell quoting for the command lines Cove hands to `/bin/sh -c` (exec forms, SHELL). */

const SAFE = /^[A-Za-z0-9_\-.,:/@%+=]+$/;

/** One argument as a shell word that `/bin/sh` reads back byte for byte. */
export function shellQuote(arg: string): string {
  if (SAFE.test(arg)) return arg;
  // Inside single quotes nothing is special except the quote itself, which is closed, escaped and reopened.
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** An argv as one shell command line: running it with `/bin/sh -c` executes exactly that argv. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}
