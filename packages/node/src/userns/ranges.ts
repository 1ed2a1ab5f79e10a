import { NodeError } from "../errors.js";

/** Ids each sandbox gets: 0..65535 inside, as in a regular Linux system (nobody is 65534). */
export const idsPerSandbox = 65_536;

export interface UidRangeOptions {
  /** First host id of the first range; a multiple of idsPerSandbox. */
  base: number;
  /** How many sandboxes may hold a range at once. */
  count: number;
}

/**
 * Hands each sandbox its own block of host uids/gids, so uid 0 and 1000 of one sandbox are
 * different kernel users from those of the host and of every other sandbox (per-uid limits
 * such as inotify instances, signals and /proc access then stay inside one sandbox).
 * Pure bookkeeping: the caller persists each sandbox's base and claims it again after a restart.
 */
export interface UidRanges {
  /** The lowest free range's first host id. */
  allocate(): number;
  /** Marks a range taken (re-adoption); false when it is not one of ours or already taken. */
  claim(uidBase: number): boolean;
  release(uidBase: number): void;
  inUse(): number;
}

function validateUidRangeOptions({ base, count }: UidRangeOptions): void {
  if (!Number.isSafeInteger(base) || base <= 0 || base % idsPerSandbox !== 0) {
    throw new NodeError("invalid_argument", `the sandbox uid base must be a positive multiple of ${idsPerSandbox}, got ${base}`);
  }
  // uid_t is 32-bit and (uid_t)-1 means "no change" to the kernel: the last id must stay below it.
  if (!Number.isSafeInteger(count) || count < 1 || base + count * idsPerSandbox > 0xffff_ffff) {
    throw new NodeError("invalid_argument", `${count} ranges of ${idsPerSandbox} ids from ${base} do not fit in 32-bit ids`);
  }
}

export function createUidRanges(options: UidRangeOptions): UidRanges {
  validateUidRangeOptions(options);
  const taken = new Set<number>();
  const indexOf = (uidBase: number): number | undefined => {
    const offset = uidBase - options.base;
    if (offset < 0 || offset % idsPerSandbox !== 0 || offset / idsPerSandbox >= options.count) return undefined;
    return offset / idsPerSandbox;
  };
  return {
    allocate() {
      for (let i = 0; i < options.count; i++) {
        if (!taken.has(i)) {
          taken.add(i);
          return options.base + i * idsPerSandbox;
        }
      }
      throw new NodeError("unavailable", `all ${options.count} sandbox uid ranges are in use`);
    },
    claim(uidBase) {
      const i = indexOf(uidBase);
      if (i === undefined || taken.has(i)) return false;
      taken.add(i);
      return true;
    },
    release(uidBase) {
      const i = indexOf(uidBase);
      if (i !== undefined) taken.delete(i);
    },
    inUse: () => taken.size,
  };
}
