// The sandbox manager wired to in-memory fakes of everything it drives (runtime, network,
// storage, user namespaces, envd, records, templates, host files) and a fake clock: its logic
// runs without root, without sandboxes and without waiting.
import type { EnvdControl, EnvdInit } from "../../src/sandbox/envd-control.js";
import { silentLogger } from "../../src/sandbox/logger.js";
import { createSandboxManager, type SandboxManager, type SandboxManagerOptions } from "../../src/sandbox/manager.js";
import type { RecordStore, SandboxRecord } from "../../src/sandbox/records.js";
import type { SandboxFiles } from "../../src/sandbox/sandbox-files.js";
import type { SandboxEvent } from "../../src/sandbox/types.js";
import type { TemplateManifest } from "../../src/templates/base-template.js";
import type { TemplateStore } from "../../src/templates/template-store.js";
import { createFakeClock, type FakeClock } from "./fake-clock.js";
import { createFakeNetwork, type FakeNetwork } from "./fake-network.js";
import { createFakeRuntime, type FakeRuntime } from "./fake-runtime.js";
import { createFakeStorage, type FakeStorage } from "./fake-storage.js";
import { createFakeUserns, type FakeUserns } from "./fake-userns.js";

export interface FakeRecords extends RecordStore {
  /** What is "on disk": the last saved copy of each record. */
  readonly saved: Map<string, SandboxRecord>;
  /** Directories without a readable record (a crash before the first save). */
  readonly bareDirs: Set<string>;
}

export function createFakeRecords(): FakeRecords {
  const saved = new Map<string, SandboxRecord>();
  const bareDirs = new Set<string>();
  return {
    saved,
    bareDirs,
    dir: (id) => `/fake/sandboxes/${id}`,
    async save(record) {
      saved.set(record.sandboxId, structuredClone(record));
    },
    async load() {
      return [...saved.values()].map((r) => structuredClone(r));
    },
    async ids() {
      return [...new Set([...saved.keys(), ...bareDirs])];
    },
    async remove(id) {
      saved.delete(id);
      bareDirs.delete(id);
    },
  };
}

export interface FakeEnvd extends EnvdControl {
  readonly inits: Array<{ address: string; body: EnvdInit }>;
  readonly warmed: string[];
}

export function createFakeEnvd(): FakeEnvd {
  const inits: Array<{ address: string; body: EnvdInit }> = [];
  const warmed: string[] = [];
  return {
    inits,
    warmed,
    async waitReady() {},
    async init(address, body) {
      inits.push({ address, body });
    },
    async warm(address) {
      warmed.push(address);
    },
  };
}

/** The network and disk a record of the fake node holds, as the fakes would have made them for slot `index`. */
export function fakeHostResources(id: string, index: number): Pick<Required<SandboxRecord>, "network" | "rootfs"> {
  return {
    network: {
      sandboxId: id,
      index,
      netnsName: `fk-${id}`,
      netnsPath: `/var/run/netns/fk-${id}`,
      hostIf: `fk${index}`,
      hostAddress: `10.9.${index}.1`,
      sandboxAddress: `10.9.${index}.2`,
      internet: true,
    },
    rootfs: { sandboxId: id, rootfs: `/fake/${id}/rootfs`, filesDir: `/fake/${id}/files`, diskBytes: 1 << 30, handle: { kind: "fake" } },
  };
}

export const fakeManifest: TemplateManifest = {
  name: "base",
  recipe: 0,
  builtAt: "2030-01-01T00:00:00.000Z",
  rootfs: "rootfs",
  defaults: { user: "user", workdir: "/home/user", env: { FROM_TEMPLATE: "1" }, cpuCount: 2, memoryMB: 512, diskMB: 2048 },
};

/** A second template, for per-template behaviour (the warm pool keeps one pool per template). */
export const fakeOtherManifest: TemplateManifest = { ...fakeManifest, name: "other" };

export function createFakeTemplates(): TemplateStore {
  const known = new Map([fakeManifest, fakeOtherManifest].map((m) => [m.name, m]));
  return {
    async resolve(templateId) {
      const manifest = known.get(templateId);
      if (!manifest) throw new Error(`fake templates know only base and other, not ${templateId}`);
      return { manifest, rootfs: `/fake/templates/${templateId}/rootfs` };
    },
    async list() {
      return [...known.values()];
    },
    async remove(templateId, _owner) {
      known.delete(templateId);
    },
    async entries() {
      return [...known.values()].map((m) => ({ name: m.name, public: true, tags: [{ tag: "default", manifest: m }] }));
    },
    // A rebuild: the name now points at this build.
    async write(manifest) {
      known.set(manifest.name, manifest);
    },
    async ownerOf(name) {
      return known.has(name) ? null : undefined;
    },
    async assignTags() {
      throw new Error("the fake templates have no tags");
    },
    async removeTags() {
      throw new Error("the fake templates have no tags");
    },
    async setPublic() {
      throw new Error("the fake templates are all public");
    },
  };
}

const noFiles: SandboxFiles = {
  async openDir() {},
  async write() {
    return [];
  },
};

export interface FakeNode {
  manager: SandboxManager;
  runtime: FakeRuntime;
  network: FakeNetwork;
  storage: FakeStorage;
  userns: FakeUserns;
  records: FakeRecords;
  envd: FakeEnvd;
  clock: FakeClock;
  templates: TemplateStore;
  /** Every event the manager published, in order. */
  events: SandboxEvent[];
  /** Stops collecting events and closes the manager (killing every sandbox). */
  close(): Promise<void>;
}

/** A manager on fakes; `start()` is the caller's (recovery tests seed records first). */
export function createFakeNode(
  options: Partial<Pick<SandboxManagerOptions, "pool" | "reaperIntervalMs" | "memory" | "logger" | "bootConcurrency">> = {},
): FakeNode {
  const runtime = createFakeRuntime();
  const network = createFakeNetwork();
  const storage = createFakeStorage();
  const userns = createFakeUserns();
  const records = createFakeRecords();
  const envd = createFakeEnvd();
  const clock = createFakeClock();
  const templates = createFakeTemplates();
  const manager = createSandboxManager({
    templates,
    runtime,
    network,
    storage,
    envd,
    records,
    userns,
    logger: silentLogger,
    envdRuntimeDir: "/fake/envd-runtime",
    envdVersion: "0.0.0-fake",
    dnsServers: ["127.0.0.1"],
    maxCpus: 8,
    maxMemoryMB: 8192,
    clock,
    files: noFiles,
    // Plenty, unless a test says otherwise: the host's real MemAvailable must not steer fake pools.
    memory: { availableMB: () => 1 << 20 },
    ...options,
  });
  const events: SandboxEvent[] = [];
  const stop = new AbortController();
  void (async () => {
    for await (const e of manager.events(stop.signal)) events.push(e);
  })();
  return {
    manager,
    runtime,
    network,
    storage,
    userns,
    records,
    envd,
    clock,
    templates,
    events,
    async close() {
      await manager.close({ killAll: true });
      stop.abort();
    },
  };
}
