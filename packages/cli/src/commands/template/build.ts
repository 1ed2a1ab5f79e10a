import { join, resolve } from "node:path";
import type { Command } from "commander";
import type { BuildProgress } from "@cove/node";

/** Where Cove keeps its state unless told otherwise. */
export function defaultDataDir(): string {
  return resolve(".cove");
}

export function registerTemplateCommands(program: Command): void {
  const template = program.command("template").description("manage sandbox templates");
  template
    .command("build")
    .argument("[name-or-dir]", "`base`, or with --name the build context of a Dockerfile (default .)")
    .description("build the base template (cached), or a template from a Dockerfile on the local node (--name)")
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
        if (name !== "base") throw new Error(`unknown template '${name}': build 'base', or a Dockerfile with --name <name> [dir]`);
        const { buildBaseTemplate } = await import("@cove/node");
        const started = Date.now();
        const show = createProgressPrinter(process.stderr);
        const result = await buildBaseTemplate({
          dataDir: resolve(opts.dataDir),
          force: opts.force,
          ...(opts.mirror ? { mirror: opts.mirror } : {}),
          onProgress: show,
        });
        show.done();
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        process.stdout.write(
          result.reused
            ? `template base: reused the build from ${result.manifest.builtAt} (${result.dir}); --force rebuilds\n`
            : `template base: built in ${seconds} s (${result.dir})\n`,
        );
      },
    );
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
