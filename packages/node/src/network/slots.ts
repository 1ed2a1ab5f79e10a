/**
 * Which sandbox owns which /30 of the pool. Allocation is next-fit (it continues after the last
 * slot handed out) so a just-freed address is not given to the next sandbox at once: stale
 * conntrack entries and remote peers of the old sandbox then never meet the new one.
 */
export interface SlotAllocator {
  readonly size: number;
  owner(index: number): string | undefined;
  /** Claims a specific slot; false if someone else owns it. */
  claim(index: number, sandboxId: string): boolean;
  /** Claims the next free slot for which `usable` is true, or undefined when the pool is exhausted. */
  claimNext(sandboxId: string, usable: (index: number) => boolean): number | undefined;
  /** Frees a slot, only if `sandboxId` owns it. */
  release(index: number, sandboxId: string): void;
  readonly used: number;
}

export function createSlotAllocator(size: number): SlotAllocator {
  const owners = new Map<number, string>();
  let cursor = 0;
  return {
    size,
    owner: (index) => owners.get(index),
    claim(index, sandboxId) {
      const current = owners.get(index);
      if (current !== undefined && current !== sandboxId) return false;
      owners.set(index, sandboxId);
      return true;
    },
    claimNext(sandboxId, usable) {
      for (let n = 0; n < size; n++) {
        const index = (cursor + n) % size;
        if (owners.has(index) || !usable(index)) continue;
        owners.set(index, sandboxId);
        cursor = (index + 1) % size;
        return index;
      }
      return undefined;
    },
    release(index, sandboxId) {
      if (owners.get(index) === sandboxId) owners.delete(index);
    },
    get used() {
      return owners.size;
    },
  };
}
