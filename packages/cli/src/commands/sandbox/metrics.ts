import { InvalidArgumentError, type Command } from "commander";
import { Sandbox, type SandboxMetrics } from "e2b";
import { callApi, loadClientConfig, sdkOptions, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { formatTime, printJson, printTable, type Output } from "../../output.js";

interface MetricsFlags extends ConnectionFlags {
  start?: Date;
  end?: Date;
  json: boolean;
}

function parseTimeFlag(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError(`expected a time like 2030-01-02T03:04:05Z, got '${value}'`);
  return d;
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** What `--json` prints per sample: the SDK's fields, the time as an ISO string. */
export function metricJson(m: SandboxMetrics) {
  return {
    timestamp: m.timestamp.toISOString(),
    cpuCount: m.cpuCount,
    cpuUsedPct: m.cpuUsedPct,
    memUsed: m.memUsed,
    memTotal: m.memTotal,
    memCache: m.memCache,
    diskUsed: m.diskUsed,
    diskTotal: m.diskTotal,
  };
}

export function printMetrics(out: Output, metrics: readonly SandboxMetrics[]): void {
  printTable(
    out,
    ["TIME", "CPU", "CPU%", "MEMORY", "DISK"],
    metrics.map((m) => [
      formatTime(m.timestamp),
      String(m.cpuCount),
      m.cpuUsedPct.toFixed(1),
      `${mib(m.memUsed)} / ${mib(m.memTotal)}`,
      `${mib(m.diskUsed)} / ${mib(m.diskTotal)}`,
    ]),
  );
}

export function registerSandboxMetrics(sandbox: Command): void {
  withConnectionOptions(
    sandbox
      .command("metrics")
      .argument("<id>", "sandbox id")
      .description("a sandbox's CPU, memory and disk history (a sample every 5 s while it runs)")
      .option("--start <time>", "only samples from this time on (ISO 8601)", parseTimeFlag)
      .option("--end <time>", "only samples up to this time (ISO 8601)", parseTimeFlag)
      .option("--json", "print JSON", false),
  ).action(async (id: string, flags: MetricsFlags) => {
    const config = loadClientConfig(flags, process.env);
    const metrics = await callApi(config, () =>
      Sandbox.getMetrics(id, { ...sdkOptions(config), ...(flags.start ? { start: flags.start } : {}), ...(flags.end ? { end: flags.end } : {}) }),
    );
    if (flags.json) printJson(process.stdout, metrics.map(metricJson));
    else printMetrics(process.stdout, metrics);
  });
}
