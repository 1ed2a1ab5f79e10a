import { posix } from "node:path";
import type { BuildSpec, BuildStep } from "../build-spec.js";
import { BuilderError } from "../errors.js";
import { type Command, commandOf, DEFAULT_SHELL, runCommand, shellOf, startCommand } from "./commands.js";
import { LineContext } from "./context.js";
import { copySteps } from "./copy.js";
import { takeFlags } from "./forms.js";
import { LineError, type RawInstruction, splitDockerfile } from "./lines.js";
import { argDeclarations, envPairs } from "./variables.js";
import { splitWords } from "./words.js";

export interface ParseDockerfileOptions {
  /** Named in error messages and warnings; default `Dockerfile`. */
  fileName?: string;
  /** `--build-arg` values: they override ARG defaults. */
  buildArgs?: Readonly<Record<string, string>>;
  /**
   * The base image's environment (its config's `Env`). Without it, a variable the Dockerfile does
   * not define itself (say `$PATH` in `ENV PATH=/opt/bin:$PATH`) is refused.
   */
  imageEnv?: Readonly<Record<string, string>>;
}

export interface ParsedDockerfile {
  spec: BuildSpec;
  /** One line each, naming the file and line, for what Cove accepted but ignores. */
  warnings: string[];
}

const IGNORED: Readonly<Record<string, string>> = {
  LABEL: "ignored: templates have no image labels",
  EXPOSE: "ignored: every port of a sandbox is reachable through its host name",
  MAINTAINER: "ignored: deprecated by Docker, and templates have no image labels",
};

const REFUSED: Readonly<Record<string, string>> = {
  VOLUME: "not supported: a sandbox has one root filesystem; create the directory with RUN mkdir",
  STOPSIGNAL: "not supported: sandboxes are stopped by Cove, not by a signal to the start command",
  ONBUILD: "not supported: templates are not base images for later Dockerfiles",
};

interface Stage {
  image: string;
  vars: Map<string, string | undefined>;
  /** Names set by ENV here or in the image: a later ARG of the same name does not override them, as in Docker. */
  envNames: Set<string>;
  steps: BuildStep[];
  shell: readonly string[];
  /** Absolute: the opening `WORKDIR /` makes it so. */
  workdir: string;
  cmd: Command | undefined;
  entrypoint: Command | undefined;
  setUser: boolean;
  setWorkdir: boolean;
}

/**
 * Docker runs a Dockerfile as root in `/`; Cove's executor starts every template as E2B's `user` in
 * `/home/user`. As the SDK's `fromDockerfile` does, the steps open with `USER root` and `WORKDIR /`
 * and, unless the Dockerfile picks its own, end on E2B's defaults, so both clients build the same template.
 */
const frameStep = (type: "USER" | "WORKDIR", arg: string): BuildStep => ({ type, args: [arg], force: false });

// What the executor accepts: a name useradd would take, or a numeric uid[:gid].
const USER_NAME = /^(?:[a-z_][a-z0-9_.-]{0,31}|[0-9]{1,10}(?::[0-9]{1,10})?)$/;

/** Converts a Dockerfile into a build spec, or refuses it with a `dockerfile_syntax` / `dockerfile_unsupported` error naming the line. */
export function parseDockerfile(text: string, options: ParseDockerfileOptions = {}): ParsedDockerfile {
  const fileName = options.fileName ?? "Dockerfile";
  const { escape, instructions, ignoredDirectives } = split(text, fileName);
  const warnings = ignoredDirectives.map((d) => `${fileName}:${d.line}: # ${d.name}= directive ignored`);
  const buildArgs = new Map(Object.entries(options.buildArgs ?? {}));
  const usedArgs = new Set<string>();
  const { fromIndex, globals, image } = readPreamble(instructions, fileName, escape, buildArgs, usedArgs);
  const stage: Stage = {
    image,
    vars: new Map(Object.entries(options.imageEnv ?? {})),
    envNames: new Set(Object.keys(options.imageEnv ?? {})),
    steps: [frameStep("USER", "root"), frameStep("WORKDIR", "/")],
    shell: DEFAULT_SHELL,
    workdir: "/",
    cmd: undefined,
    entrypoint: undefined,
    setUser: false,
    setWorkdir: false,
  };
  for (const raw of instructions.slice(fromIndex + 1)) {
    const ctx = new LineContext(fileName, raw.line, raw.keyword, escape);
    const warning = dispatch(ctx, raw.rest, stage, { globals, buildArgs, usedArgs });
    if (warning !== undefined) warnings.push(ctx.warn(warning));
  }
  for (const name of buildArgs.keys()) {
    if (!usedArgs.has(name)) warnings.push(`${fileName}: build arg ${name} was given but no ARG declares it`);
  }
  if (!stage.setUser) stage.steps.push(frameStep("USER", "user"));
  if (!stage.setWorkdir) stage.steps.push(frameStep("WORKDIR", "/home/user"));
  const { startCmd, cmdIgnored } = startCommand(stage.entrypoint, stage.cmd);
  if (cmdIgnored) warnings.push(`${fileName}: CMD ignored: a shell-form ENTRYPOINT does not take CMD's arguments`);
  const spec: BuildSpec = { source: { kind: "image", image: stage.image }, steps: stage.steps, force: false };
  if (startCmd !== undefined) spec.startCmd = startCmd;
  return { spec, warnings };
}

/** The image the Dockerfile's FROM names, after substituting the ARGs declared before it, so a caller can fetch its env first. */
export function dockerfileBaseImage(text: string, options: Pick<ParseDockerfileOptions, "fileName" | "buildArgs"> = {}): string {
  const fileName = options.fileName ?? "Dockerfile";
  const { escape, instructions } = split(text, fileName);
  return readPreamble(instructions, fileName, escape, new Map(Object.entries(options.buildArgs ?? {})), new Set()).image;
}

function split(text: string, fileName: string): ReturnType<typeof splitDockerfile> {
  try {
    return splitDockerfile(text);
  } catch (error) {
    if (error instanceof LineError) throw new BuilderError("dockerfile_syntax", `${fileName}:${error.line}: ${error.message}`);
    throw error;
  }
}

interface ArgScope {
  globals: ReadonlyMap<string, string | undefined>;
  buildArgs: ReadonlyMap<string, string>;
  usedArgs: Set<string>;
}

/** The ARGs before FROM, then FROM itself. */
function readPreamble(
  instructions: readonly RawInstruction[],
  fileName: string,
  escape: string,
  buildArgs: ReadonlyMap<string, string>,
  usedArgs: Set<string>,
): { fromIndex: number; globals: Map<string, string | undefined>; image: string } {
  const globals = new Map<string, string | undefined>();
  for (const [index, raw] of instructions.entries()) {
    const ctx = new LineContext(fileName, raw.line, raw.keyword, escape);
    if (raw.keyword === "ARG") {
      for (const { name, value } of argDeclarations(ctx, raw.rest, globals)) {
        if (buildArgs.has(name)) usedArgs.add(name);
        globals.set(name, buildArgs.get(name) ?? value);
      }
    } else if (raw.keyword === "FROM") {
      return { fromIndex: index, globals, image: fromImage(ctx, raw.rest, globals) };
    } else {
      throw ctx.fail("syntax", "only ARG may come before FROM");
    }
  }
  throw new BuilderError("dockerfile_syntax", `${fileName}: no FROM instruction`);
}

const IMAGE_REFERENCE =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[a-z0-9]+:[a-f0-9]{32,})?$/;

function fromImage(ctx: LineContext, text: string, globals: ReadonlyMap<string, string | undefined>): string {
  const { flags, rest } = takeFlags(text);
  ctx.checkFlags(flags, [], { platform: "a template runs on the node's own platform" });
  const words = splitWords(rest, ctx.escape);
  if (words.length !== 1 && !(words.length === 3 && words[1]?.toUpperCase() === "AS")) throw ctx.fail("syntax", "expected FROM image[:tag|@digest] [AS name]");
  const image = ctx.expand(words[0] ?? "", globals);
  if (image.toLowerCase() === "scratch")
    throw ctx.fail("unsupported", "FROM scratch is not supported: a sandbox needs a shell; start from a distribution image");
  if (!IMAGE_REFERENCE.test(image)) throw new BuilderError("invalid_image_reference", `${ctx.warn(`invalid image reference ${JSON.stringify(image)}`)}`);
  return image;
}

/** Runs one instruction after FROM against the stage; returns a warning when it is accepted but ignored. */
function dispatch(ctx: LineContext, rest: string, stage: Stage, args: ArgScope): string | undefined {
  const keyword = ctx.keyword;
  switch (keyword) {
    case "FROM":
      throw ctx.fail("unsupported", "multi-stage builds are not supported: a template is built from one FROM");
    case "RUN":
      stage.steps.push({ type: "RUN", args: [runCommand(ctx, rest, stage.shell)], force: false });
      return undefined;
    case "COPY":
    case "ADD":
      stage.steps.push(...copySteps(ctx, rest, stage.vars));
      return undefined;
    case "ENV":
      envInstruction(ctx, rest, stage);
      return undefined;
    case "ARG":
      argInstruction(ctx, rest, stage, args);
      return undefined;
    case "WORKDIR":
      workdirInstruction(ctx, rest, stage);
      return undefined;
    case "USER": {
      const user = ctx.expand(rest, stage.vars);
      if (user === "") throw ctx.fail("syntax", "USER needs a user name or id");
      if (!USER_NAME.test(user)) throw ctx.fail("unsupported", `user ${JSON.stringify(user)} is not supported: give a user name, or a numeric uid[:gid]`);
      stage.setUser = true;
      stage.steps.push({ type: "USER", args: [user], force: false });
      return undefined;
    }
    case "CMD":
      stage.cmd = commandOf(ctx, rest, stage.shell);
      return undefined;
    case "ENTRYPOINT":
      stage.entrypoint = commandOf(ctx, rest, stage.shell);
      return undefined;
    case "SHELL":
      stage.shell = shellOf(ctx, rest);
      return undefined;
    case "HEALTHCHECK":
      if (rest.toUpperCase() === "NONE") return undefined;
      throw ctx.fail("unsupported", "not supported: use the template's ready command (readyCmd) instead");
    default: {
      const ignored = IGNORED[keyword];
      if (ignored !== undefined) return ignored;
      const refused = REFUSED[keyword];
      if (refused !== undefined) throw ctx.fail("unsupported", refused);
      throw ctx.fail("syntax", "unknown instruction");
    }
  }
}

function envInstruction(ctx: LineContext, rest: string, stage: Stage): void {
  const pairs = envPairs(ctx, rest, stage.vars);
  for (const [name, value] of pairs) {
    stage.vars.set(name, value);
    stage.envNames.add(name);
  }
  stage.steps.push({ type: "ENV", args: pairs.flat(), force: false });
}

function argInstruction(ctx: LineContext, rest: string, stage: Stage, scope: ArgScope): void {
  const pairs: string[] = [];
  for (const decl of argDeclarations(ctx, rest, stage.vars)) {
    let value = decl.value;
    if (scope.buildArgs.has(decl.name)) {
      scope.usedArgs.add(decl.name);
      value = scope.buildArgs.get(decl.name);
    } else if (value === undefined && scope.globals.has(decl.name)) {
      // `ARG NAME` after FROM brings a pre-FROM ARG's value into the stage.
      value = scope.globals.get(decl.name);
    }
    // An ENV of the same name wins in Docker, for substitution and for RUN; the executor would let the ARG step win, so none is sent.
    if (stage.envNames.has(decl.name)) continue;
    stage.vars.set(decl.name, value);
    if (value !== undefined) pairs.push(decl.name, value);
  }
  if (pairs.length > 0) stage.steps.push({ type: "ARG", args: pairs, force: false });
}

function workdirInstruction(ctx: LineContext, rest: string, stage: Stage): void {
  const path = ctx.expand(rest, stage.vars);
  if (path === "") throw ctx.fail("syntax", "WORKDIR needs a path");
  // A relative WORKDIR is relative to the previous one.
  const resolved = posix.resolve(stage.workdir, path);
  stage.workdir = resolved;
  stage.setWorkdir = true;
  stage.steps.push({ type: "WORKDIR", args: [resolved], force: false });
}
