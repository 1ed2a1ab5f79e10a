import { randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { type BuildLogEntry, type BuildSource, type BuildStepType, BuilderError, BuildStepError } from "@cove/builder";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { BuildTemplateRequest, BuildTemplateResponseSchema, GetTemplateBuildRequest, TemplateBuildSchema } from "@cove/protocol/nodeapi";
import type { BuildRecord, BuildRun } from "../builds/build-records.js";
import type { NodeTemplateBuilder } from "../builds/node-builder.js";
import { NodeError } from "../errors.js";
import { buildTags } from "../templates/template-ref.js";
import type { NodeApiLogger } from "./types.js";

type Event = MessageInitShape<typeof BuildTemplateResponseSchema>;

/**
 * BuildTemplate: runs the build and streams its log lines as they come; the last message says
 * how it ended. A build's own failure (a step, the ready check) is a `failed` message, not an
 * RPC error, so the caller gets the step and output tail; a malformed request is an RPC error.
 * Everything also goes to the node's build record; a `detach`ed build goes on without the call.
 */
export async function* buildTemplateStream(
  builder: NodeTemplateBuilder,
  req: BuildTemplateRequest,
  ctx: HandlerContext,
  log: NodeApiLogger,
): AsyncGenerator<Event> {
  const queue: Event[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  const push = (event: Event) => {
    queue.push(event);
    wake?.();
  };
  let source: BuildSource;
  let run: BuildRun;
  const buildId = req.buildId || randomUUID();
  const tags = buildTags(req.tags);
  try {
    source = sourceOf(req);
    run = await builder.records.begin({ buildId, template: req.name, tags, ...(req.owner ? { owner: req.owner } : {}) });
  } catch (err) {
    yield { event: { case: "failed", value: failureOf(err, log) } };
    return;
  }
  const onLog = (entry: BuildLogEntry) => {
    const now = new Date();
    const step = entry.step ? { step: entry.step } : {};
    run.log({ timestamp: now.toISOString(), level: entry.level, message: entry.message, ...step });
    push({ event: { case: "log", value: { timestamp: timestampFromDate(now), level: entry.level, message: entry.message, ...step } } });
  };
  const finish = async (event: Event) => {
    const e = event.event;
    if (e?.case === "done") await run.finish({ status: "ready", steps: e.value.steps ?? 0, cachedSteps: e.value.cachedSteps ?? 0 });
    else if (e?.case === "failed") {
      const step = e.value.step ? { step: e.value.step } : {};
      for (const line of e.value.tail ?? []) run.log({ timestamp: new Date().toISOString(), level: "error", message: line, ...step });
      await run.finish({ status: "error", reason: { message: e.value.message ?? "", ...step } });
    }
    push(event);
  };
  const build = builder
    .build({
      name: req.name,
      ...(req.owner ? { owner: req.owner } : {}),
      tags,
      buildId,
      spec: {
        source,
        steps: req.steps.map((s) => ({ type: s.type as BuildStepType, args: s.args, force: s.force, ...(s.filesHash ? { filesHash: s.filesHash } : {}) })),
        force: req.force,
        ...(req.startCmd ? { startCmd: req.startCmd } : {}),
        ...(req.readyCmd ? { readyCmd: req.readyCmd } : {}),
      },
      ...(req.cpuCount ? { cpuCount: req.cpuCount } : {}),
      ...(req.memoryMb ? { memoryMB: req.memoryMb } : {}),
      ...(req.diskMb ? { diskMB: req.diskMb } : {}),
      onLog,
      ...(req.detach ? {} : { signal: ctx.signal }),
    })
    .then(
      (built) =>
        finish({
          event: { case: "done", value: { name: built.manifest.name, steps: req.steps.length, cachedSteps: built.cachedSteps, buildId, tags: built.tags } },
        }),
      (err: unknown) => finish({ event: { case: "failed", value: failureOf(err, log) } }),
    )
    .catch((err: unknown) => log.error({ err, buildId }, "recording a template build's end failed"))
    .finally(() => {
      finished = true;
      wake?.();
    });
  while (true) {
    const next = queue.shift();
    if (next) {
      yield next;
      continue;
    }
    if (finished) break;
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
  }
  await build;
}

function failureOf(err: unknown, log: NodeApiLogger): { code: string; message: string; step?: string; tail: string[] } {
  if (err instanceof BuildStepError) return { code: err.code, message: err.message, step: err.step, tail: err.tail };
  if (err instanceof BuilderError || err instanceof NodeError) return { code: err.code, message: err.message, tail: [] };
  log.error({ err }, "template build failed unexpectedly");
  return { code: "internal", message: "the build failed on the node (see the node's log)", tail: [] };
}

function sourceOf(req: BuildTemplateRequest): BuildSource {
  if (req.fromImage && req.fromTemplate) throw new NodeError("invalid_argument", "give from_template or from_image, not both");
  if (!req.fromImage) return { kind: "template", template: req.fromTemplate };
  if ((req.registryUsername === undefined) !== (req.registryPassword === undefined)) {
    throw new NodeError("invalid_argument", "registry_username and registry_password go together");
  }
  const kinds = [req.registryUsername !== undefined, req.awsRegistry !== undefined, req.gcpServiceAccountJson !== undefined].filter(Boolean).length;
  if (kinds > 1) throw new NodeError("invalid_argument", "give one kind of registry credentials");
  const aws = req.awsRegistry;
  const credentials =
    req.registryUsername !== undefined
      ? { credentials: { type: "registry" as const, username: req.registryUsername, password: req.registryPassword ?? "" } }
      : aws
        ? { credentials: { type: "aws" as const, awsAccessKeyId: aws.accessKeyId, awsSecretAccessKey: aws.secretAccessKey, awsRegion: aws.region } }
        : req.gcpServiceAccountJson !== undefined
          ? { credentials: { type: "gcp" as const, serviceAccountJson: req.gcpServiceAccountJson } }
          : {};
  return { kind: "image", image: req.fromImage, ...credentials };
}

/** A build record as the node API reports it. */
export function buildToWire(r: BuildRecord): MessageInitShape<typeof TemplateBuildSchema> {
  return {
    buildId: r.buildId,
    templateId: r.template,
    tags: r.tags,
    ...(r.owner ? { owner: r.owner } : {}),
    status: r.status,
    startedAt: timestampFromDate(new Date(r.startedAt)),
    ...(r.finishedAt ? { finishedAt: timestampFromDate(new Date(r.finishedAt)) } : {}),
    ...(r.reason ? { failure: { code: "build_failed", message: r.reason.message, ...(r.reason.step ? { step: r.reason.step } : {}), tail: [] } } : {}),
    steps: r.steps ?? 0,
    cachedSteps: r.cachedSteps ?? 0,
  };
}

/** GetTemplateBuild: the record and a page of its log (100 lines unless asked). */
export async function getBuild(builder: NodeTemplateBuilder, req: GetTemplateBuildRequest) {
  const { record, logs, total } = await builder.records.get(req.buildId, req.owner, req.logsOffset, Math.min(req.logsLimit ?? 100, 10_000));
  return {
    build: buildToWire(record),
    logs: logs.map((l) => ({ timestamp: timestampFromDate(new Date(l.timestamp)), level: l.level, message: l.message, ...(l.step ? { step: l.step } : {}) })),
    logsTotal: total,
  };
}
