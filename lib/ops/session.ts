/** What every ops command shares: opening the queue, closing it, and argument parsers. */
import { InvalidArgumentError } from 'commander';
import { openQueue } from '../queue';
import type { Queue } from '../queue/types';

/**
 * Opens the queue at `url`, runs `use`, and always closes it. A missing queue, missing
 * credentials or an unreachable endpoint arrive as `QueueError`s that already say what to do
 * (including the `npm run queue:create` command); `runMain` prints them.
 */
export async function withQueue<T>(url: string, use: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = await openQueue(url);
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

/** Commander parser for a number of seconds > 0 (fractions allowed). */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number of seconds > 0, e.g. 5`);
  return n;
}

/** Commander parser for a whole number within [min, max]. */
export function integerBetween(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

/** Commander parser for a repeatable option: `--id a --id b` → `['a', 'b']`. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}
