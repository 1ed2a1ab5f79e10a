import { setTimeout as sleep } from "node:timers/promises";

/** Whether a process with this pid exists (signal 0 checks without sending). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone we may not signal.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits up to `ms` for the process to be gone; true when it is. */
export async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (isAlive(pid) && Date.now() < until) await sleep(50);
  return !isAlive(pid);
}
