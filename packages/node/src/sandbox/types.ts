import type { SandboxState } from "../lifecycle/state-table.js";

/** What a caller asks for when creating a sandbox. Omitted fields take the template's defaults. */
export interface CreateSandboxRequest {
  templateId: string;
  cpuCount?: number;
  memoryMB?: number;
  /** Lifetime from now; the reaper acts when it runs out. */
  timeoutMs: number;
  envVars?: Record<string, string>;
  metadata?: Record<string, string>;
  /** Default true, as in E2B. */
  allowInternetAccess?: boolean;
  /** At timeout: pause (true) instead of kill (false, the default). */
  autoPause?: boolean;
  /** Token envd requires on every request; none = envd is open to whoever reaches it. */
  envdAccessToken?: string;
  /** The caller's team: another team's private template is not found. Unset: every template. */
  owner?: string;
}

/** A sandbox as the node reports it. */
export interface SandboxInfo {
  sandboxId: string;
  templateId: string;
  state: SandboxState;
  cpuCount: number;
  memoryMB: number;
  diskMB: number;
  /** ISO 8601. */
  startedAt: string;
  /** ISO 8601: when the reaper kills or pauses it. */
  endAt: string;
  metadata: Record<string, string>;
  allowInternetAccess: boolean;
  autoPause: boolean;
  envdVersion: string;
  /** host:port at which this node reaches the sandbox's envd. */
  envdAddress: string;
  /** Address of the sandbox on its veth, through which the node reaches any sandbox port. */
  sandboxIp: string;
}

export type SandboxEventType = "created" | "paused" | "resumed" | "killed";
/** Why a sandbox was killed or paused. */
export type SandboxEventReason = "request" | "timeout" | "error";

export interface SandboxEvent {
  type: SandboxEventType;
  sandboxId: string;
  /** ISO 8601. */
  at: string;
  reason?: SandboxEventReason;
  /** A human-readable explanation for `error`. */
  message?: string;
  /** The sandbox right after the event (for killed: its last known info). */
  sandbox: SandboxInfo;
}

/** Where the proxy sends traffic for a sandbox port. */
export interface SandboxRoute {
  sandboxId: string;
  state: SandboxState;
  /** host:port on this node. */
  address: string;
}

/**
 * The node's sandbox operations, as the node API serves them. Every method
 * throws NodeError (not_found, invalid_argument, invalid_transition, ...).
 */
export interface SandboxService {
  create(request: CreateSandboxRequest): Promise<SandboxInfo>;
  list(): SandboxInfo[];
  get(sandboxId: string): SandboxInfo;
  kill(sandboxId: string): Promise<void>;
  /** Replaces the deadline: timeoutMs from now. */
  setTimeout(sandboxId: string, timeoutMs: number): Promise<SandboxInfo>;
  pause(sandboxId: string): Promise<SandboxInfo>;
  resume(sandboxId: string, timeoutMs?: number): Promise<SandboxInfo>;
  /** Address of `port` inside the sandbox, as the node reaches it. */
  route(sandboxId: string, port: number): SandboxRoute;
  /** Lifecycle events from now on, until `signal` aborts. */
  events(signal: AbortSignal): AsyncIterable<SandboxEvent>;
}
