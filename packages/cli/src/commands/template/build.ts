import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import type { BuildProgress, BuildResult } from "@cove/node";

/** Where Cove keeps its state unless told otherwise. */
export function defaultDataDir(): string {
  return resolve(".cove");
}

export function registerTemplateCommands(program: Command): void {
  const template = program.command("template").description("manage sandbox templates");
  template
    .command("build")
    .argument("[name-or-dir]", "`base` or `code-interpreter`, or with --name the build context of a Dockerfile (default .)")
    .description("build a built-in template (base, code-interpreter; cached), or a template from a Dockerfile on the local node (--name)")
    .option("--name <name>", "build the Dockerfile in the given dir as this template")
    .option("-f, --file <path>", "the Dockerfile, relative to the dir (default Dockerfile)")
    .option("--build-arg <NAME=value>", "an ARG value (repeatable)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--node-url <url>", "with --name: the node API (env COVE_NODE_URL; default: <data-dir>/node-url)")
    .option("--data-dir <dir>", "Cove's data directory", defaultDataDir())
    .option("--force", "rebuild even when a cached build exists", false)
    .option("--mirror <url>", "Debian mirror for base (default: the one apt uses on this machine)")
    .action(
      async (
        arg: string | undefined,
        opts: { name?: string; file?: string; buildArg: string[]; nodeUrl?: string; dataDir: string; force: boolean; mirror?: string },
      ) => {
        if (opts.name !== undefined) {
          const { buildFromDockerfile } = await import("./build-dockerfile.js");
          const flags = {
            name: opts.name,
            buildArg: opts.buildArg,
            force: opts.force,
            dataDir: opts.dataDir,
            ...(opts.file ? { file: opts.file } : {}),
            ...(opts.nodeUrl ? { nodeUrl: opts.nodeUrl } : {}),
          };
          return buildFromDockerfile(arg ?? ".", flags, process.stdout, process.stderr);
        }
        const name = arg ?? "";
        const started = Date.now();
        const show = createProgressPrinter(process.stderr);
        const result = await buildBuiltInTemplate(
          name,
          { dataDir: resolve(opts.dataDir), force: opts.force, ...(opts.mirror ? { mirror: opts.mirror } : {}) },
          show,
        );
        show.done();
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const built = result.manifest.name;
        process.stdout.write(
          result.reused
            ? `template ${built}: reused the build from ${result.manifest.builtAt} (${result.dir}); --force rebuilds\n`
            : `template ${built}: built in ${seconds} s (${result.dir})\n`,
        );
      },
    );
}

/** What to name when a name is not one of the built-in templates (the node's BUILT_IN_TEMPLATES). */
const BUILT_IN_NAMES = ["base", "code-interpreter"];

/** The execution server the code-interpreter template carries (`npm run build` bundles it beside its package). */
export function defaultInterpreterRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.COVE_INTERPRETER_RUNTIME) return resolve(env.COVE_INTERPRETER_RUNTIME);
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@cove/interpreter")), "..", "build", "runtime");
}

async function buildBuiltInTemplate(
  name: string,
  options: { dataDir: string; force?: boolean; mirror?: string },
  onProgress: (p: BuildProgress) => void,
): Promise<BuildResult> {
  const node = await import("@cove/node");
  if (!node.BUILT_IN_TEMPLATES.includes(name)) {
    throw new Error(`unknown template '${name}': build ${BUILT_IN_NAMES.join(" or ")}, or a Dockerfile with --name <name> [dir]`);
  }
  if (name === "base") return node.buildBaseTemplate({ ...options, onProgress });
  return node.buildCodeInterpreterTemplate({ ...options, serverDir: defaultInterpreterRuntimeDir(), onProgress });
}

/** The names in `--prebuild` (COVE_PREBUILD), comma-separated; only built-in templates. */
export async function checkPrebuild(text: string): Promise<string[]> {
  const { BUILT_IN_TEMPLATES } = await import("@cove/node");
  const names = text
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  for (const name of names) {
    if (!BUILT_IN_TEMPLATES.includes(name)) throw new Error(`--prebuild ${name}: only ${BUILT_IN_NAMES.join(" and ")} are built by cove`);
  }
  return names;
}

/**
 * Builds the built-in templates `cove up --prebuild` names before the node starts, with
 * progress; each is reused when its build is current.
 */
export async function prebuildTemplates(dirs: { dataDir: string; templatesDir: string }, names: string[], say: (line: string) => void): Promise<void> {
  if (dirs.templatesDir !== join(dirs.dataDir, "templates")) return;
  for (const name of names) {
    const show = createProgressPrinter(process.stderr);
    const result = await buildBuiltInTemplate(name, { dataDir: dirs.dataDir }, (p) => {
      if (p.step === 1 && p.detail === undefined) say(`building or checking the ${name} template`);
      show(p);
    });
    show.done();
    say(`template ${result.manifest.name} ${result.reused ? "is current" : "built"}`);
  }
}

/**
 * A fresh data dir gets the base template before a node starts (a minute or so, once; cached
 * after), with progress on stderr. A templates dir set elsewhere (COVE_TEMPLATES_DIR) is left
 * to whoever set it.
 */
export async function ensureBaseTemplate(dirs: { dataDir: string; templatesDir: string }, say: (line: string) => void): Promise<void> {
  const { buildBaseTemplate, readManifest } = await import("@cove/node");
  if (dirs.templatesDir !== join(dirs.dataDir, "templates") || (await readManifest(join(dirs.templatesDir, "base")))) return;
  say("building the base template (first start only, about a minute)");
  const show = createProgressPrinter(process.stderr);
  await buildBaseTemplate({ dataDir: dirs.dataDir, onProgress: show });
  show.done();
}

/**
 * Prints "[n/m] title" once per step; on a terminal the tool's latest line is
 * shown after it and rewritten in place, elsewhere (CI logs) it is left out.
 */
export function createProgressPrinter(out: NodeJS.WriteStream): ((p: BuildProgress) => void) & { done(): void } {
  let step = 0;
  let live = false;
  const width = Math.max(40, (out.columns ?? 100) - 1);
  const clear = () => {
    if (live) out.write("\r\x1b[2K");
    live = false;
  };
  const print = (p: BuildProgress) => {
    if (p.step !== step) {
      clear();
      step = p.step;
      out.write(`[${p.step}/${p.steps}] ${p.title}\n`);
    }
    if (p.detail && out.isTTY) {
      clear();
      out.write(`      ${p.detail}`.slice(0, width));
      live = true;
    }
  };
  return Object.assign(print, { done: clear });
}
