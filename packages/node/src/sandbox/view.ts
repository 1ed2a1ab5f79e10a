import type { Clock } from "./clock.js";
import type { EventHub } from "./events.js";
import type { SandboxRecord } from "./records.js";
import type { SandboxEventReason, SandboxEventType, SandboxInfo } from "./types.js";

/** How the manager shows a record to callers and to event subscribers. */
export interface SandboxView {
  /** host:port of the sandbox's envd, as the node reaches it. */
  envdAddress(rec: SandboxRecord): string;
  info(rec: SandboxRecord): SandboxInfo;
  /** Publishes a lifecycle event; pool and build sandboxes are nobody's and have none. */
  emit(type: SandboxEventType, rec: SandboxRecord, reason?: SandboxEventReason, message?: string): void;
}

export function createSandboxView(options: { envdPort: number; hub: EventHub; clock: Clock }): SandboxView {
  const envdAddress = (rec: SandboxRecord) => `${rec.network?.sandboxAddress ?? "0.0.0.0"}:${options.envdPort}`;
  const info = (rec: SandboxRecord): SandboxInfo => ({
    sandboxId: rec.sandboxId,
    templateId: rec.templateId,
    state: rec.state,
    cpuCount: rec.cpuCount,
    memoryMB: rec.memoryMB,
    diskMB: rec.diskMB,
    startedAt: rec.startedAt,
    endAt: rec.endAt,
    metadata: { ...rec.metadata },
    allowInternetAccess: rec.allowInternetAccess,
    autoPause: rec.autoPause,
    envdVersion: rec.envdVersion,
    envdAddress: envdAddress(rec),
    sandboxIp: rec.network?.sandboxAddress ?? "",
  });
  return {
    envdAddress,
    info,
    emit(type, rec, reason, message) {
      if (rec.pooled || rec.build) return;
      options.hub.publish({
        type,
        sandboxId: rec.sandboxId,
        at: new Date(options.clock.now()).toISOString(),
        ...(reason ? { reason } : {}),
        ...(message ? { message } : {}),
        sandbox: info(rec),
      });
    },
  };
}
