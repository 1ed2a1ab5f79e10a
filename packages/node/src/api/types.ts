import type { CgroupMode } from "../runtime/container/host-detect.js";

/** What GetNodeInfo reports; the node's wiring supplies it on each call. */
export interface NodeInfo {
  nodeId: string;
  /** Version of the node software. */
  version: string;
  /** Isolation runtime and its version, e.g. "crun 1.8.1". */
  runtime: string;
  cgroupMode: CgroupMode;
  capacity: {
    cpuCount: number;
    memoryBytes: number;
    /** Sandboxes the node holds now, in any state but stopped. */
    sandboxCount: number;
  };
}

/** The slice of a pino logger the node API uses. */
export interface NodeApiLogger {
  error(details: object, message: string): void;
}

/** A built template as ListTemplates reports it. */
export interface TemplateSummary {
  templateId: string;
  builtAt: Date;
  cpuCount: number;
  memoryMB: number;
  diskMB: number;
  owner?: string;
  public: boolean;
  tags: { tag: string; buildId: string; createdAt: Date }[];
}
