// Benchmark dispatcher: `npm run bench -- <name> [options]`.
// Each benchmark prints one `key=value ...` line per figure group, with its
// baseline and ratio, and cleans up everything it started.
const benchmarks: Record<string, () => Promise<{ run(argv: string[]): Promise<void> }>> = {
  envd: () => import("./envd.js"),
  node: () => import("./node.js"),
  e2e: () => import("./e2e.js"),
  templates: () => import("./templates.js"),
  "code-interpreter": () => import("./code-interpreter.js"),
};

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const load = name ? benchmarks[name] : undefined;
  if (!load) {
    process.stderr.write(`usage: npm run bench -- <${Object.keys(benchmarks).join("|")}> [options]\n`);
    process.exitCode = 2;
    return;
  }
  await (await load()).run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
