import type { LineContext } from "./context.js";
import { execForm, hasHeredoc, takeFlags } from "./forms.js";
import { shellJoin } from "./shell-quote.js";

/** The shell Docker wraps shell-form lines in; the executor runs every command line with it too. */
export const DEFAULT_SHELL: readonly string[] = ["/bin/sh", "-c"];

const RUN_REFUSED: Readonly<Record<string, string>> = {
  mount: "build mounts (caches, secrets, binds) need BuildKit",
  network: "a RUN step always has the build's network",
  security: "a RUN step cannot be made privileged",
};

/** A command as Docker would run it: the argv, and whether it came from the shell form. */
export interface Command {
  argv: string[];
  shellForm: boolean;
}

/** CMD, ENTRYPOINT and RUN text as an argv: exec form verbatim, shell form through the current SHELL. */
export function commandOf(ctx: LineContext, text: string, shell: readonly string[]): Command {
  const exec = execForm(text);
  if (exec !== undefined) return { argv: exec, shellForm: false };
  if (text === "") throw ctx.fail("syntax", `${ctx.keyword} needs a command`);
  return { argv: [...shell, text], shellForm: true };
}

/** A RUN line as the shell command line the executor hands to `/bin/sh -c`. */
export function runCommand(ctx: LineContext, text: string, shell: readonly string[]): string {
  if (hasHeredoc(text, ctx.escape))
    throw ctx.fail("unsupported", "heredocs are not supported: write the lines with printf or put the file in the build context");
  const { flags, rest } = takeFlags(text);
  ctx.checkFlags(flags, [], RUN_REFUSED);
  const command = commandOf(ctx, rest, shell);
  if (command.argv.length === 0) throw ctx.fail("syntax", "RUN needs a command");
  return commandLine(command.argv);
}

/** An argv as a `/bin/sh -c` command line, without re-wrapping what is already `/bin/sh -c <line>`. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 3 && argv[0] === DEFAULT_SHELL[0] && argv[1] === DEFAULT_SHELL[1]) return argv[2] ?? "";
  return shellJoin(argv);
}

/** SHELL takes the exec form only. */
export function shellOf(ctx: LineContext, text: string): string[] {
  const argv = execForm(text);
  if (argv === undefined || argv.length === 0) throw ctx.fail("syntax", 'SHELL takes a non-empty JSON array, e.g. SHELL ["/bin/bash", "-c"]');
  return argv;
}

/**
 * The template's start command from the last ENTRYPOINT and CMD, combined as Docker does: an exec-form
 * ENTRYPOINT gets CMD's argv appended; a shell-form one ignores CMD. Undefined when neither says anything.
 */
export function startCommand(entrypoint: Command | undefined, cmd: Command | undefined): { startCmd: string | undefined; cmdIgnored: boolean } {
  const cmdIgnored = entrypoint?.shellForm === true && cmd !== undefined && cmd.argv.length > 0;
  const argv = entrypoint?.shellForm ? entrypoint.argv : [...(entrypoint?.argv ?? []), ...(cmd?.argv ?? [])];
  return { startCmd: argv.length === 0 ? undefined : commandLine(argv), cmdIgnored };
}
