import { readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { Readable } from "node:stream";
import type { BuildStep } from "@cove/builder";
import type { BuildTemplateResponse } from "@cove/protocol/nodeapi";
import { parseTemplateRef } from "@cove/protocol/template-ref";
import { type NodeFlags, nodeTarget } from "../../node-target.js";

export interface DockerfileBuildFlags extends NodeFlags {
  name: string;
  file?: string;
  buildArg: string[];
  force: boolean;
}

/**
 * What `$PATH` means in the Dockerfile (`ENV PATH=/opt/bin:$PATH`): a sandbox's default. The CLI
 * does not read the base image's config, so an image's own PATH entries beyond it are not kept.
 */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

function parseBuildArgs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf("=");
    if (i <= 0) throw new Error(`--build-arg ${pair}: expected NAME=value`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/**
 * `cove template build [dir] --name NAME [-f Dockerfile]`: parses the Dockerfile here, uploads
 * each COPY's files to the local node, and runs the build there, printing its log as it comes.
 * Talks to the node directly, like `cove pool` (its secret from the data dir).
 */
export async function buildFromDockerfile(dir: string, flags: DockerfileBuildFlags, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<void> {
  const ref = parseTemplateRef(flags.name);
  if (!ref) throw new Error(`--name ${flags.name}: NAME or NAME:TAG (lowercase letters, digits, '.', '_' and '-'; a tag may also have capitals)`);
  const contextDir = resolve(dir);
  const file = resolve(contextDir, flags.file ?? "Dockerfile");
  const text = await readFile(file, "utf8").catch((e: unknown) => {
    throw new Error(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const builder = await import("@cove/builder");
  const buildArgs = parseBuildArgs(flags.buildArg);
  const fileName = basename(file);
  const image = builder.dockerfileBaseImage(text, { fileName, buildArgs });
  const parsed = builder.parseDockerfile(text, { fileName, buildArgs, imageEnv: { PATH: DEFAULT_PATH } });
  for (const warning of parsed.warnings) err.write(`warning: ${warning}\n`);

  const target = await nodeTarget(flags, process.env);
  const [{ createNodeClient }, { ConnectError }] = await Promise.all([import("@cove/protocol/nodeapi-client"), import("@connectrpc/connect")]);
  const client = createNodeClient(target);
  // FROM a template built on this node, else an image from a registry.
  const templates = await client.listTemplates({}).catch((e: unknown) => {
    throw new Error(`node at ${target.baseUrl}: ${e instanceof ConnectError ? e.rawMessage : String(e)}`);
  });
  // (E2B's e2bdev/base goes as an image: the node answers it with base.)
  const template = templates.templates.find((t) => t.templateId === image)?.templateId;
  const source = template ? { fromTemplate: template } : { fromImage: image };
  const ignore = await builder.readDockerignore(contextDir);
  const steps: BuildStep[] = [];
  for (const step of parsed.spec.steps) {
    if (step.type !== "COPY") {
      steps.push(step);
      continue;
    }
    const prepared = await builder.prepareCopyStep(contextDir, step, ignore);
    const res = await fetch(`${target.baseUrl}/build-files/${prepared.filesHash}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${target.secret}` },
      body: Readable.toWeb(prepared.openTar()) as ReadableStream,
      duplex: "half",
    } as RequestInit);
    if (res.status !== 204)
      throw new Error(`node at ${target.baseUrl}: uploading the files of COPY ${step.args[0]} failed: HTTP ${res.status} ${await res.text()}`);
    steps.push({ ...step, filesHash: prepared.filesHash });
  }

  const started = Date.now();
  let last: BuildTemplateResponse["event"] | undefined;
  try {
    const stream = client.buildTemplate({
      name: ref.name,
      // NAME alone builds the default tag (what NAME means at create), as with E2B.
      ...(flags.name.includes(":") ? { tags: [ref.tag] } : {}),
      ...source,
      steps: steps.map((s) => ({ type: s.type, args: s.args, force: s.force, ...(s.filesHash ? { filesHash: s.filesHash } : {}) })),
      force: flags.force,
      ...(parsed.spec.startCmd ? { startCmd: parsed.spec.startCmd } : {}),
      ...(parsed.spec.readyCmd ? { readyCmd: parsed.spec.readyCmd } : {}),
    });
    for await (const res of stream) {
      last = res.event;
      if (res.event.case === "log") {
        const { step, message } = res.event.value;
        err.write(step && !message.startsWith("[") && !message.startsWith("CACHED") ? `  ${message}\n` : `${message}\n`);
      }
    }
  } catch (e) {
    throw new Error(`node at ${target.baseUrl}: ${e instanceof ConnectError ? e.rawMessage : String(e)}`);
  }
  if (last?.case === "failed") {
    const where = last.value.step ? ` (step ${last.value.step})` : "";
    throw new Error(`build of ${flags.name} failed${where}: ${last.value.message}`);
  }
  if (last?.case !== "done") throw new Error(`node at ${target.baseUrl}: the build's stream ended without a result`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  out.write(`template ${flags.name}: built in ${seconds} s (${last.value.steps} steps, ${last.value.cachedSteps} cached; build ${last.value.buildId})\n`);
}
