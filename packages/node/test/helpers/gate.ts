/** A promise a test opens by hand: a fake operation awaits it to stay "in progress". */
export interface Gate {
  readonly promise: Promise<void>;
  open(): void;
  fail(err: Error): void;
}

export function createGate(): Gate {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}
