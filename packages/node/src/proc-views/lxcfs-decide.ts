/** What the node found of lxcfs on its mount dir when it looked. */
export interface LxcfsObservation {
  /** The pid in our pidfile, when there is one. */
  pid?: number;
  /** That pid is a live lxcfs serving our mount dir (its exe and command line say so). */
  pidIsOurs: boolean;
  /** A fuse.lxcfs mount sits on our mount dir. */
  mounted: boolean;
  /** A file under the mount answers (a dead daemon leaves the mount answering ENOTCONN). */
  answers: boolean;
}

/** What to do about it. */
export type LxcfsAction =
  /** Our lxcfs is running and serving: take it over. */
  | { kind: "adopt"; pid: number }
  /** Start a new one; first stop `killPid` (ours, but not serving) and lazily unmount a stale mount. */
  | { kind: "start"; killPid?: number; unmount: boolean };

/**
 * Adopt only what is verifiably ours and working; otherwise clear what is left and start fresh.
 * A pid that is not ours (a recycled pid) is never signalled.
 */
export function decideLxcfs(o: LxcfsObservation): LxcfsAction {
  if (o.pid !== undefined && o.pidIsOurs && o.mounted && o.answers) return { kind: "adopt", pid: o.pid };
  return { kind: "start", ...(o.pid !== undefined && o.pidIsOurs ? { killPid: o.pid } : {}), unmount: o.mounted };
}
