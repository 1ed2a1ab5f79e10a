/** How many of something are in flight per key; keys at zero are dropped so the map cannot grow. */
export interface Counts {
  get(key: string): number;
  add(key: string): void;
  remove(key: string): void;
}

export function createCounts(): Counts {
  const counts = new Map<string, number>();
  return {
    get: (key) => counts.get(key) ?? 0,
    add: (key) => void counts.set(key, (counts.get(key) ?? 0) + 1),
    remove(key) {
      const n = (counts.get(key) ?? 1) - 1;
      if (n <= 0) counts.delete(key);
      else counts.set(key, n);
    },
  };
}
