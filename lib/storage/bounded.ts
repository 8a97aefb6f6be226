/**
 * `Promise.all(items.map(fn))` with at most `limit` calls in flight, results in input order.
 * The first rejection rejects the whole call; calls already started are left to finish, no new
 * ones start.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const runner = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index], index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const runners = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, runner);
  await Promise.all(runners);
  return results;
}
