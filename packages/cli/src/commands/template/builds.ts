import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { type NodeFlags, nodeTarget } from "../../node-target.js";
import { formatTime, printJson, printTable } from "../../output.js";

interface BuildsFlags extends NodeFlags {
  json: boolean;
}

const nodeOptions = (c: Command) =>
  c
    .option("--node-url <url>", "the node API (env COVE_NODE_URL; default: <data-dir>/node-url)")
    .option("--data-dir <dir>", "Cove's data directory (env COVE_DATA_DIR; default .cove)");

async function client(flags: NodeFlags) {
  const { createNodeClient } = await import("@cove/protocol/nodeapi-client");
  return createNodeClient(await nodeTarget(flags, process.env));
}

const when = (t: Parameters<typeof timestampDate>[0] | undefined) => (t ? timestampDate(t) : undefined);

/**
 * `cove template builds [NAME]` and `cove template logs BUILD`: every build the local node ran
 * (the SDK's, through the api, and the CLI's), kept 7 days, read from the node like `cove pool`.
 */
export function registerTemplateBuilds(template: Command): void {
  nodeOptions(template.command("builds").argument("[name]", "only this template's").description("list the template builds on the local node, newest first"))
    .option("--json", "print JSON", false)
    .action(async (name: string | undefined, flags: BuildsFlags) => {
      const { builds } = await (await client(flags)).listTemplateBuilds(name ? { templateId: name } : {});
      const rows = builds.map((b) => ({
        buildId: b.buildId,
        template: b.templateId,
        tags: b.tags,
        status: b.status,
        startedAt: when(b.startedAt)?.toISOString() ?? null,
        finishedAt: when(b.finishedAt)?.toISOString() ?? null,
        ...(b.owner ? { team: b.owner } : {}),
        ...(b.failure ? { reason: b.failure.message } : {}),
      }));
      if (flags.json) return printJson(process.stdout, rows);
      printTable(
        process.stdout,
        ["BUILD", "TEMPLATE", "TAGS", "STATUS", "STARTED", "FINISHED"],
        rows.map((r) => [r.buildId, r.template, r.tags.join(","), r.status, formatTime(r.startedAt), formatTime(r.finishedAt)]),
      );
    });

  nodeOptions(template.command("logs").argument("<build>", "a build id (cove template builds lists them)").description("print a template build's log")).action(
    async (buildId: string, flags: NodeFlags) => {
      const node = await client(flags);
      let offset = 0;
      for (;;) {
        const res = await node.getTemplateBuild({ buildId, logsOffset: offset, logsLimit: 1000 });
        for (const l of res.logs) process.stdout.write(`${when(l.timestamp)?.toISOString() ?? ""} ${l.step ? `[${l.step}] ` : ""}${l.message}\n`);
        offset += res.logs.length;
        if (res.logs.length === 0 || offset >= res.logsTotal) {
          const b = res.build;
          process.stdout.write(`build ${buildId} (${b?.templateId}): ${b?.status}${b?.failure ? `: ${b.failure.message}` : ""}\n`);
          return;
        }
      }
    },
  );
}
