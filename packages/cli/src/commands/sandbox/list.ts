import { InvalidArgumentError, type Command } from "commander";
import { Sandbox, type SandboxInfo, type SandboxState } from "e2b";
import { callApi, loadClientConfig, sdkOptions, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { formatTime, printJson, printTable, type Output } from "../../output.js";
import { collectPairs } from "./common.js";

interface ListFlags extends ConnectionFlags {
  state?: SandboxState[];
  metadata?: Record<string, string>;
  json: boolean;
}

function collectState(value: string, previous: SandboxState[] = []): SandboxState[] {
  if (value !== "running" && value !== "paused") throw new InvalidArgumentError("expected running or paused");
  return previous.includes(value) ? previous : [...previous, value];
}

/** What `--json` prints per sandbox: the SDK's fields, dates as ISO strings. */
export function sandboxJson(s: SandboxInfo) {
  return {
    sandboxId: s.sandboxId,
    templateId: s.templateId,
    ...(s.name !== undefined ? { name: s.name } : {}),
    state: s.state,
    startedAt: s.startedAt,
    endAt: s.endAt,
    cpuCount: s.cpuCount,
    memoryMB: s.memoryMB,
    metadata: s.metadata,
    envdVersion: s.envdVersion,
  };
}

export function printSandboxes(out: Output, sandboxes: readonly SandboxInfo[]): void {
  printTable(
    out,
    ["ID", "TEMPLATE", "STATE", "STARTED", "ENDS", "METADATA"],
    sandboxes.map((s) => [
      s.sandboxId,
      s.name ?? s.templateId,
      s.state,
      formatTime(s.startedAt),
      formatTime(s.endAt),
      Object.entries(s.metadata)
        .map(([k, v]) => `${k}=${v}`)
        .join(",") || "-",
    ]),
  );
}

export function registerSandboxList(sandbox: Command): void {
  withConnectionOptions(
    sandbox
      .command("list")
      .alias("ls")
      .description("list running and paused sandboxes")
      .option("--state <state>", "only sandboxes in this state: running or paused (repeatable)", collectState)
      .option("--metadata <key=value>", "only sandboxes with this metadata (repeatable; all must match)", collectPairs)
      .option("--json", "print JSON", false),
  ).action(async (flags: ListFlags) => {
    const config = loadClientConfig(flags, process.env);
    const sandboxes = await callApi(config, async () => {
      const pages = Sandbox.list({
        ...sdkOptions(config),
        query: { ...(flags.state ? { state: flags.state } : {}), ...(flags.metadata ? { metadata: flags.metadata } : {}) },
      });
      const all: SandboxInfo[] = [];
      while (pages.hasNext) all.push(...(await pages.nextItems()));
      return all;
    });
    if (flags.json) printJson(process.stdout, sandboxes.map(sandboxJson));
    else printSandboxes(process.stdout, sandboxes);
  });
}
