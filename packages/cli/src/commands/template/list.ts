import type { Command } from "commander";
import { createNativeClient, loadClientConfig, withConnectionOptions, type ConnectionFlags } from "../../client.js";
import { formatTime, printJson, printTable } from "../../output.js";

interface TemplateRecord {
  id: string;
  builtAt: string | null;
  cpuCount: number;
  memoryMB: number;
  diskMB: number;
  public: boolean;
  tags: string[];
}

interface ListFlags extends ConnectionFlags {
  json: boolean;
}

/** `cove template list`: the templates built on the server's node (not the local data dir). */
export function registerTemplateList(template: Command): void {
  withConnectionOptions(
    template.command("list").alias("ls").description("list the templates a Cove server can start sandboxes from").option("--json", "print JSON", false),
  ).action(async (flags: ListFlags) => {
    const api = createNativeClient(loadClientConfig(flags, process.env));
    const { templates } = await api.get<{ templates: TemplateRecord[] }>("/v1/templates");
    if (flags.json) return printJson(process.stdout, templates);
    printTable(
      process.stdout,
      ["ID", "TAGS", "PUBLIC", "BUILT", "CPUS", "MEMORY MB", "DISK MB"],
      templates.map((t) => [
        t.id,
        t.tags.join(",") || "-",
        t.public ? "yes" : "no",
        formatTime(t.builtAt),
        String(t.cpuCount),
        String(t.memoryMB),
        String(t.diskMB),
      ]),
    );
  });
}

/** `cove template delete NAME`: new sandboxes can no longer start from it; running ones keep going. */
export function registerTemplateDelete(template: Command): void {
  withConnectionOptions(
    template.command("delete").alias("rm").argument("<name>", "the template").description("delete a template built from a Dockerfile or the SDK"),
  ).action(async (name: string, flags: ConnectionFlags) => {
    const api = createNativeClient(loadClientConfig(flags, process.env));
    await api.delete(`/v1/templates/${encodeURIComponent(name)}`);
    process.stdout.write(`template ${name}: deleted\n`);
  });
}
