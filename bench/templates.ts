// Template builds on one node: `npm run bench -- templates [--runs N]`.
// Builds a 5-step template from `base` in real build sandboxes and prints, in one run:
//   first_build_ms, cached_rebuild_ms (every step cached; aim <= 2 s),
//   step_overhead_ms (a forced `RUN true` step beyond the cached rebuild; aim <= 300 ms) with
//   the same run's cold create + kill of a `base` sandbox as its baseline and ratio,
//   create_from_custom_p50_ms vs create_from_base_p50_ms (cold, interleaved) and their ratio.
//   pull_unpack_mb_s: a 64 MiB image layer pulled from Debian's docker-registry on loopback and
//   unpacked, against `tar -xzf` of the same layer in the same run (tar_unpack_mb_s).
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { type BuildSpec, type BuildStep, createImageCache, hostPlatform, pullImage } from "../packages/builder/src/index.js";
import { pushImage, registryBinary, sha256, startRegistry } from "../packages/builder/test/helpers/registry.js";
import { buildTar } from "../packages/builder/test/helpers/tar-writer.js";
import { loadNodeConfig } from "../packages/node/src/config.js";
import { startNode } from "../packages/node/src/node.js";
import { silentLogger } from "../packages/node/src/sandbox/logger.js";
import { buildBaseTemplate } from "../packages/node/src/templates/base-template.js";
import { fmt, line, median, positive } from "./lib/stats.js";

const TEMPLATE_DATA_DIR = "/var/tmp/cove-test";
const PREFIX = "cbt";
const CIDR = "10.212.5.0/24";

const timed = async (fn: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await fn();
  return performance.now() - start;
};

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { runs: { type: "string", default: "5" } } });
  const runs = positive("--runs", values.runs);
  if (process.getuid?.() !== 0) throw new Error("the templates bench must run as root (namespaces, mounts, cgroups, nftables)");
  const work = mkdtempSync("/var/tmp/cove-bench-templates-");
  await buildBaseTemplate({ dataDir: TEMPLATE_DATA_DIR });
  const templatesDir = join(TEMPLATE_DATA_DIR, "templates");
  const name = `bench-tpl-${randomBytes(3).toString("hex")}`;
  const config = loadNodeConfig(
    { dataDir: join(work, "node"), listen: "127.0.0.1:0", poolSize: 0, logLevel: "silent" },
    {
      COVE_TEMPLATES_DIR: templatesDir,
      COVE_NETWORK_PREFIX: PREFIX,
      COVE_SANDBOX_CIDR: CIDR,
      COVE_SANDBOX_DNS: "127.0.0.1",
      COVE_NODE_SECRET: "bench-secret",
    },
    { envdRuntimeDir: join(import.meta.dirname, "../packages/envd/build/runtime") },
  );
  const node = await startNode(config, silentLogger);
  try {
    console.log(line({ bench: "templates", load_avg_1m: fmt(loadavg()[0] ?? Number.NaN), runs: String(runs) }));
    const ctx = join(work, "ctx");
    mkdirSync(join(ctx, "src"), { recursive: true });
    writeFileSync(join(ctx, "src", "app.py"), "print('hi')\n");
    const tar = join(work, "ctx.tar.gz");
    execFileSync("tar", ["-czf", tar, "-C", ctx, "src"]);
    const filesHash = "b".repeat(64);
    await node.builder.files.put(filesHash, createReadStream(tar));
    const steps: BuildStep[] = [
      { type: "RUN", args: ["mkdir -p /opt/tool && echo 1 > /opt/tool/version", "root"], force: false },
      { type: "ENV", args: ["TOOL_HOME", "/opt/tool"], force: false },
      { type: "WORKDIR", args: ["/app"], force: false },
      { type: "COPY", args: ["src", "/app/src", "", ""], force: false, filesHash },
      { type: "RUN", args: ["python3 -c 'print(1)' > /app/out"], force: false },
    ];
    const build = (extra: BuildStep[] = [], force = false) => {
      const spec: BuildSpec = { source: { kind: "template", template: "base" }, steps: [...steps, ...extra], force };
      return node.builder.build({ name, spec, onLog: () => undefined });
    };

    const first = await timed(() => build([], true));
    const cached: number[] = [];
    for (let i = 0; i < runs; i++) cached.push(await timed(() => build()));
    const withTrue: number[] = [];
    const coldBase: number[] = [];
    let layers = 0;
    for (let i = 0; i < runs; i++) {
      withTrue.push(await timed(async () => (layers = (await build([{ type: "RUN", args: ["true"], force: true }])).manifest.layers?.length ?? 0)));
      coldBase.push(await timed(async () => node.manager.kill((await node.manager.create({ templateId: "base", timeoutMs: 60_000 })).sandboxId)));
    }
    const stepOverhead = median(withTrue) - median(cached);
    console.log(
      line({
        first_build_ms: fmt(first, 0),
        cached_rebuild_ms: fmt(median(cached), 1),
        step_overhead_ms: fmt(stepOverhead, 1),
        cold_create_kill_base_p50_ms: fmt(median(coldBase), 1),
        step_vs_create_kill_ratio: fmt(stepOverhead / median(coldBase)),
      }),
    );

    // The template as its last build left it (with the forced `RUN true`), against base: both cold, interleaved.
    const custom: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < runs * 2; i++) {
      for (const [templateId, into] of [
        [name, custom],
        ["base", base],
      ] as const) {
        const start = performance.now();
        const info = await node.manager.create({ templateId, timeoutMs: 60_000 });
        into.push(performance.now() - start);
        await node.manager.kill(info.sandboxId);
      }
    }
    console.log(
      line({
        create_from_custom_p50_ms: fmt(median(custom), 1),
        create_from_base_p50_ms: fmt(median(base), 1),
        custom_vs_base_ratio: fmt(median(custom) / median(base)),
        custom_layers: String(layers),
      }),
    );
    console.log(line(await pullFigures(work)));
  } finally {
    await node.close({ killAll: true });
    rmSync(join(templatesDir, name), { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

/** Pull + unpack of a 64 MiB layer (half random, half zeros) from a loopback registry, vs GNU tar on the same layer. */
async function pullFigures(work: string): Promise<Record<string, string>> {
  if (!existsSync(registryBinary)) return { pull_unpack_mb_s: "n/a", pull_skipped: `"${registryBinary} missing"` };
  const size = 64 << 20;
  const content = Buffer.concat([randomBytes(size / 2), Buffer.alloc(size / 2)]);
  const tar = buildTar([
    { path: "data/", type: "5", mode: 0o755 },
    { path: "data/blob", content },
  ]);
  const compressed = gzipSync(tar);
  const registry = await startRegistry();
  try {
    const target = { url: registry.url, repository: "bench/big" };
    await pushImage(target, "1", { layers: [{ compressed, diffId: sha256(tar) }], config: { Env: [] }, architecture: hostPlatform().architecture });
    const cache = createImageCache(join(work, "pull-cache"));
    const pulled = await timed(() => pullImage({ reference: `${registry.host}/bench/big:1`, cache, insecureRegistries: [registry.host] }));
    writeFileSync(join(work, "layer.tar.gz"), compressed);
    mkdirSync(join(work, "tar-out"));
    const untar = await timed(async () => execFileSync("tar", ["-xzf", join(work, "layer.tar.gz"), "-C", join(work, "tar-out")]));
    const mb = size / 1e6;
    return {
      pull_unpack_mb_s: fmt(mb / (pulled / 1000), 1),
      tar_unpack_mb_s: fmt(mb / (untar / 1000), 1),
      pull_vs_tar_ratio: fmt(pulled / untar),
      layer_mb: fmt(mb, 1),
      compressed_mb: fmt(compressed.length / 1e6, 1),
    };
  } finally {
    await registry.stop();
  }
}
