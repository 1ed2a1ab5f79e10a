import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";

import type { NodeClient } from "@cove/protocol/nodeapi-client";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { BuildTemplateRequestSchema } from "@cove/protocol/nodeapi";
import type { Logger } from "pino";

export type BuildStatus = "waiting" | "building" | "ready" | "error";

export interface BuildLogLine {
  timestamp: string;
  level: string;
  message: string;
  step?: string;
}

export interface TemplateBuild {
  templateID: string;
  buildID: string;
  teamId: string;
  status: BuildStatus;
  logs: BuildLogLine[];
  reason?: { message: string; step?: string };
  createdAt: number;
}

/**
 * What the api keeps of the builds it started, in memory while they run here. The node runs them
 * detached and keeps every build's record and log, so a restarted api answers polls from the node.
 */
export interface BuildRegistry {
  create(teamId: string, templateID: string): TemplateBuild;
  get(templateID: string, buildID: string): TemplateBuild | undefined;
  /** Runs the build on the node in the background; logs and status land on the record as they come. */
  start(build: TemplateBuild, request: MessageInitShape<typeof BuildTemplateRequestSchema>): void;
  /** Cancels builds in flight (api shutdown). */
  close(): void;
}

/** Finished builds are kept this long for late polls. */
const KEEP_MS = 24 * 3_600_000;
/** Log lines kept per build; older ones are dropped (a runaway step must not fill the api's memory). */
const MAX_LINES = 50_000;

export function createBuildRegistry(node: NodeClient, logger: Logger): BuildRegistry {
  const builds = new Map<string, TemplateBuild>();
  const running = new Set<AbortController>();
  const key = (templateID: string, buildID: string) => `${templateID}/${buildID}`;
  const prune = () => {
    const cutoff = Date.now() - KEEP_MS;
    for (const [k, b] of builds) if (b.createdAt < cutoff && (b.status === "ready" || b.status === "error")) builds.delete(k);
  };

  async function run(build: TemplateBuild, request: MessageInitShape<typeof BuildTemplateRequestSchema>, signal: AbortSignal): Promise<void> {
    build.status = "building";
    const push = (line: BuildLogLine) => {
      if (build.logs.length < MAX_LINES) build.logs.push(line);
    };
    try {
      for await (const res of node.buildTemplate({ ...request, detach: true }, { signal })) {
        const e = res.event;
        if (e.case === "log") {
          push({
            timestamp: (e.value.timestamp ? timestampDate(e.value.timestamp) : new Date()).toISOString(),
            level: e.value.level,
            message: e.value.message,
            ...(e.value.step ? { step: e.value.step } : {}),
          });
        } else if (e.case === "done") {
          build.status = "ready";
        } else if (e.case === "failed") {
          build.status = "error";
          build.reason = { message: e.value.message, ...(e.value.step ? { step: e.value.step } : {}) };
          for (const line of e.value.tail)
            push({ timestamp: new Date().toISOString(), level: "error", message: line, ...(e.value.step ? { step: e.value.step } : {}) });
        }
      }
      if (build.status === "building") throw new Error("the node's build stream ended without a result");
    } catch (err) {
      logger.warn({ err, templateID: build.templateID, buildID: build.buildID }, "template build failed on the node");
      build.status = "error";
      build.reason ??= { message: signal.aborted ? "the api stopped while the build ran (it goes on on the node)" : "the node could not run the build" };
    }
  }

  return {
    create(teamId, templateID) {
      prune();
      const build: TemplateBuild = { templateID, buildID: randomUUID(), teamId, status: "waiting", logs: [], createdAt: Date.now() };
      builds.set(key(templateID, build.buildID), build);
      return build;
    },
    get: (templateID, buildID) => builds.get(key(templateID, buildID)),
    start(build, request) {
      const controller = new AbortController();
      running.add(controller);
      void run(build, request, controller.signal).finally(() => running.delete(controller));
    },
    close() {
      for (const c of running) c.abort();
    },
  };
}
