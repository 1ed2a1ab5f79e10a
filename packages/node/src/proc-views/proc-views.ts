import { NodeError } from "../errors.js";
import type { Logger } from "../sandbox/logger.js";
import type { BindMount } from "../runtime/container/oci-spec.js";
import { procViewBinds } from "./binds.js";
import { decideLxcfs } from "./lxcfs-decide.js";
import type { LxcfsHost } from "./lxcfs-host.js";

/** COVE_PROC_VIEWS: lxcfs when installed (auto), lxcfs or refuse to start (lxcfs), never (off). */
export type ProcViewsMode = "auto" | "lxcfs" | "off";

/** Where sandboxes' /proc views come from right now. */
export type ProcViewsStatus =
  | { source: "off" }
  /** auto without lxcfs installed: sandboxes see the host's values. */
  | { source: "missing" }
  /** The host's own lxcfs (Debian's lxcfs.service): used, never supervised. */
  | { source: "system"; mountDir: string }
  /** The node's lxcfs, started or adopted by it. */
  | { source: "node"; mountDir: string; pid: number; adopted: boolean };

export interface ProcViewsOptions {
  mode: ProcViewsMode;
  /** undefined = lxcfs is not installed. */
  host: LxcfsHost | undefined;
  mountDir: string;
  logger: Logger;
  /** How often the node checks that its lxcfs lives; default 5 s. */
  checkIntervalMs?: number;
  /**
   * After the node restarted a dead lxcfs: the running sandboxes' binds still point at the dead
   * mount (ENOTCONN) until they are bound again from the new one.
   */
  onRestart?: (mountDir: string) => Promise<void>;
}

export interface ProcViews {
  /** Adopts the node's running lxcfs or starts one (or uses the host's); throws in mode lxcfs when it cannot. */
  start(): Promise<ProcViewsStatus>;
  /** The binds for a new sandbox (none when off or missing), after making sure lxcfs serves. */
  binds(): Promise<BindMount[]>;
  status(): ProcViewsStatus;
  /** Stops watching; lxcfs keeps running for the sandboxes (a new node adopts it). */
  close(): void;
  /** Stops watching and stops the node's lxcfs (only when no sandbox is left). */
  stop(): Promise<void>;
}

export function createProcViews(options: ProcViewsOptions): ProcViews {
  const { host, mountDir, logger: log } = options;
  let status: ProcViewsStatus = { source: "off" };
  let timer: NodeJS.Timeout | undefined;
  // One supervision step at a time: a create and the timer may both find lxcfs dead.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(step: () => Promise<T>): Promise<T> => {
    const next = chain.then(step);
    chain = next.catch(() => undefined);
    return next;
  };

  /** Adopts or (re)starts the node's lxcfs; returns whether it started a new one. */
  const ensure = async (h: LxcfsHost): Promise<boolean> => {
    const action = decideLxcfs(await h.observe());
    if (action.kind === "adopt") {
      status = { source: "node", mountDir, pid: action.pid, adopted: true };
      return false;
    }
    if (action.killPid !== undefined) await h.kill(action.killPid);
    if (action.unmount) await h.unmount(mountDir);
    const pid = await h.start();
    status = { source: "node", mountDir, pid, adopted: false };
    return true;
  };

  /** Restarts a dead lxcfs and rebinds the sandboxes; a no-op while it lives. */
  const check = (h: LxcfsHost) =>
    serial(async () => {
      if (status.source !== "node" || h.alive(status.pid)) return;
      const dead = status.pid;
      await ensure(h);
      log.warn({ deadPid: dead, pid: status.source === "node" ? status.pid : undefined }, "lxcfs had died; restarted it");
      await options.onRestart?.(mountDir);
    });

  const close = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  return {
    async start() {
      if (options.mode === "off") {
        status = { source: "off" };
        return status;
      }
      if (!host) {
        if (options.mode === "lxcfs") throw new NodeError("unavailable", "COVE_PROC_VIEWS=lxcfs but lxcfs is not installed (Debian package lxcfs)");
        log.warn({}, "lxcfs is not installed (Debian package lxcfs): sandboxes see the host's memory, CPUs and uptime in /proc");
        status = { source: "missing" };
        return status;
      }
      const system = await host.systemMount();
      if (system) {
        status = { source: "system", mountDir: system };
        log.info({ mountDir: system }, "using the host's lxcfs for sandboxes' /proc views");
        return status;
      }
      let started: boolean;
      try {
        started = await serial(() => ensure(host));
      } catch (err) {
        if (options.mode === "lxcfs") throw err;
        log.warn({ err }, "lxcfs would not start: sandboxes see the host's memory, CPUs and uptime in /proc");
        status = { source: "missing" };
        return status;
      }
      log.info({ ...status, started }, started ? "started lxcfs for sandboxes' /proc views" : "adopted the running lxcfs");
      // A new lxcfs while sandboxes of an earlier node may still run: their binds are dead.
      if (started) await options.onRestart?.(mountDir);
      timer = setInterval(() => {
        check(host).catch((err: unknown) => log.error({ err }, "could not restart lxcfs"));
      }, options.checkIntervalMs ?? 5_000);
      timer.unref();
      return status;
    },

    async binds() {
      if (status.source === "system") return procViewBinds(status.mountDir);
      if (status.source !== "node" || !host) return [];
      await check(host);
      return procViewBinds(mountDir);
    },

    status: () => status,

    close,

    async stop() {
      close();
      const s = status;
      if (s.source !== "node" || !host) return;
      await serial(async () => {
        await host.kill(s.pid);
        // lxcfs unmounts on SIGTERM; a SIGKILLed one leaves its mount behind.
        if ((await host.observe()).mounted) await host.unmount(mountDir);
      });
      status = { source: "off" };
    },
  };
}
