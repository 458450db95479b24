/**
 * An in-process subscription as an async generator, for following a task or a job without a studio: updates
 * that arrive while the consumer is busy are queued (none is dropped), the current state is read after
 * subscribing (so nothing between the read and the subscription is missed), and the subscription ends with
 * the generator — after the update `isLast` accepts, or when the consumer stops early.
 */
export async function* subscriptionUpdates<T>(params: {
  subscribe: (push: (update: T) => void) => () => void;
  current: () => Promise<T>;
  isLast: (update: T) => boolean;
}): AsyncGenerator<T> {
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  const off = params.subscribe((update) => {
    queue.push(update);
    wake?.();
  });
  try {
    queue.push(await params.current());
    for (;;) {
      const next = queue.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        continue;
      }
      yield next;
      if (params.isLast(next)) return;
    }
  } finally {
    off();
  }
}
