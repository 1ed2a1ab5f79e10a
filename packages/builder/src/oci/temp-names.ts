import { randomBytes } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** `<hex>.<pid>.<random>`: the pid lets a later process tell a crashed writer's leftovers from a live one's work. */
export function tempName(hex: string): string {
  return `${hex}.${process.pid}.${randomBytes(6).toString("hex")}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temp entries whose writer is gone (a crash mid-download or mid-unpack). Entries of
 * live processes stay; a reused pid only delays a removal, it never removes live work.
 */
export async function sweepStaleTemps(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(name.split(".")[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && !alive(pid)) await rm(join(dir, name), { recursive: true, force: true });
  }
}
