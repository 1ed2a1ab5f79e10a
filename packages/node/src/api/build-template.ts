import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { type BuildLogEntry, type BuildSource, type BuildStepType, BuilderError, BuildStepError } from "@cove/builder";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { BuildTemplateRequest, BuildTemplateResponseSchema } from "@cove/protocol/nodeapi";
import type { NodeTemplateBuilder } from "../builds/node-builder.js";
import { NodeError } from "../errors.js";
import type { NodeApiLogger } from "./types.js";

type Event = MessageInitShape<typeof BuildTemplateResponseSchema>;

/**
 * BuildTemplate: runs the build and streams its log lines as they come; the last message says
 * how it ended. A build's own failure (a step, the ready check) is a `failed` message, not an
 * RPC error, so the caller gets the step and output tail; a malformed request is an RPC error.
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
  const onLog = (entry: BuildLogEntry) =>
    push({
      event: {
        case: "log",
        value: { timestamp: timestampFromDate(new Date()), level: entry.level, message: entry.message, ...(entry.step ? { step: entry.step } : {}) },
      },
    });
  let source: BuildSource;
  try {
    source = sourceOf(req);
  } catch (err) {
    yield { event: { case: "failed", value: failureOf(err, log) } };
    return;
  }
  const build = builder
    .build({
      name: req.name,
      ...(req.owner ? { owner: req.owner } : {}),
      tags: req.tags,
      ...(req.buildId ? { buildId: req.buildId } : {}),
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
      signal: ctx.signal,
    })
    .then(
      (built) =>
        push({
          event: {
            case: "done",
            value: {
              name: built.manifest.name,
              steps: req.steps.length,
              cachedSteps: built.cachedSteps,
              buildId: built.manifest.buildId ?? "",
              tags: built.tags,
            },
          },
        }),
      (err: unknown) => push({ event: { case: "failed", value: failureOf(err, log) } }),
    )
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
  const credentials =
    req.registryUsername !== undefined
      ? { credentials: { type: "registry" as const, username: req.registryUsername, password: req.registryPassword ?? "" } }
      : {};
  return { kind: "image", image: req.fromImage, ...credentials };
}
