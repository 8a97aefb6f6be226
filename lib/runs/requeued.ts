/**
 * A requeued task leaves its run's `failed` count and comes back as left: `requeue` writes a
 * counts object with `failed: -N` per run into the run store (summed with the workers' own), so
 * a task that then succeeds is counted once, as done.
 */
import { randomBytes } from 'node:crypto';
import type { RunStore } from './store';

export async function recordRequeued(
  store: RunStore,
  tasks: readonly { readonly run: string | null }[],
): Promise<void> {
  const perRun = new Map<string, number>();
  for (const task of tasks) if (task.run !== null) perRun.set(task.run, (perRun.get(task.run) ?? 0) + 1);
  const at = new Date().toISOString();
  const worker = `requeue-${at.replace(/[-:.]/g, '')}-${randomBytes(2).toString('hex')}`;
  await Promise.all(
    [...perRun].map(([run, count]) =>
      store.writeCounts({
        worker,
        run,
        completed: 0,
        failed: -count,
        retried: 0,
        retriesLeased: 0,
        inFlight: 0,
        firstAt: null,
        lastAt: null,
        updatedAt: at,
        codeVersion: 'requeue',
      }),
    ),
  );
}
