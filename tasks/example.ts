/**
 * The example task: counts the primes in [start, start + count) and writes them as JSON.
 * Replace it with your own (copy this file); `tasks/index.ts` lists the tasks workers can run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask, skipExistingOutputs } from '../lib/task';

const params = z.object({
  /** First number to test. */
  start: z.number().int().nonnegative(),
  /** How many numbers to test. */
  count: z.number().int().positive().max(10_000_000),
  /** A free-form label copied into the output. */
  label: z.string(),
  /** Simulated extra work in milliseconds (for demos of leases and shutdown); 0 by default. */
  sleep_ms: z.number().int().nonnegative().default(0),
});

type Params = z.output<typeof params>;

export function outputKey(row: Pick<Params, 'start'>): string {
  return `primes/${row.start}.json`;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export const countPrimes = defineTask({
  key: ['tasks.example', 'count_primes'],
  description: 'count the primes in [start, start + count) and write primes/<start>.json',
  params,
  filterTasks: skipExistingOutputs(outputKey),
  async run({ start, count, label, sleep_ms }, { storage, signal, log }) {
    if (sleep_ms > 0) await sleep(sleep_ms, undefined, { signal });
    const primes: number[] = [];
    for (let n = start; n < start + count; n++) if (isPrime(n)) primes.push(n);
    await storage.putJson(outputKey({ start }), {
      start,
      count,
      label,
      primes: primes.length,
      largest: primes.at(-1) ?? null,
    });
    log.debug({ start, primes: primes.length }, 'counted primes');
  },
});
