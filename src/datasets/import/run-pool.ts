/**
 * Run `work` over `items` with at most `concurrency` at a time. Image work is sharp, whose native threads
 * do the decoding; a pool of one task per core keeps every core busy without queueing hundreds of decodes
 * (and their memory) at once. After a failure no new item starts, and the pool settles before it throws,
 * so the caller can clean up knowing nothing is still writing.
 */
export async function runPool<T>(params: { items: readonly T[]; concurrency: number; work: (item: T, index: number) => Promise<void>; signal?: AbortSignal }): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < params.items.length) {
      params.signal?.throwIfAborted();
      const index = next++;
      try {
        await params.work(params.items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(params.concurrency, params.items.length)) }, worker));
  const rejected = results.find((result) => result.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
}
