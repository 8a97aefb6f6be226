/**
 * Safe re-inserts (docs/params.md, "Inserting again"): before a table goes on a queue, look at
 * what is already there. The same table (same bytes, task and --limit) whose run still has tasks
 * left is not inserted again unless asked (`--again`); a different table goes in, with a note
 * naming what the queue already holds.
 */
import type { Queue } from '../queue/types';
import { QueueError } from '../queue/errors';
import { formatCount } from '../ops/units';
import type { RunRecord } from './record';
import type { RunStore } from './store';
import { readRuns, type RunProgress } from './summary';

export interface ReinsertCheck {
  /** The unfinished run of this very table, when there is one and `again` was not given. */
  readonly alreadyQueued: RunProgress | null;
  /** Lines for the user about what the queue already holds. */
  readonly notes: readonly string[];
}

export interface ReinsertInput {
  readonly store: RunStore;
  readonly queue: Queue;
  readonly task: string;
  readonly sha256: string;
  readonly limit: number | null;
  readonly again: boolean;
}

export function describeRun(run: RunProgress): string {
  const r = run.record;
  const table = r ? `${r.table.path}${r.limit === null ? '' : ` (first ${formatCount(r.limit)} rows)`}` : '?';
  const left = run.left === null ? 'still inserting' : `${formatCount(run.left)} left`;
  return (
    `run ${run.id}: ${r?.task ?? '?'} from ${table}, inserted ${r?.createdAt ?? '?'}; ` +
    `${formatCount(run.done)} done, ${formatCount(run.failed)} failed, ${left}`
  );
}

function sameTable(record: RunRecord | null, input: ReinsertInput): boolean {
  return (
    record !== null &&
    record.table.sha256 === input.sha256 &&
    record.task === input.task &&
    record.limit === input.limit
  );
}

/** Tasks in the queue; 0 for a file queue that inserting is about to create. */
async function enqueuedIn(queue: Queue): Promise<number> {
  try {
    return (await queue.counts()).enqueued;
  } catch (error) {
    if (queue.kind === 'fq' && error instanceof QueueError && error.code === 'QueueNotFound') return 0;
    throw error;
  }
}

export async function checkReinsert(input: ReinsertInput): Promise<ReinsertCheck> {
  // Pub/Sub cannot count a backlog: the run store alone says what is left there.
  const enqueued = input.queue.kind === 'pubsub' ? null : await enqueuedIn(input.queue);
  if (enqueued === 0) return { alreadyQueued: null, notes: [] };
  const snapshot = await readRuns(input.store);
  const unfinished = snapshot.runs.filter((run) => !run.finished);
  const same = unfinished.find((run) => sameTable(run.record, input));
  if (same && !input.again) return { alreadyQueued: same, notes: [] };
  const notes: string[] = [];
  if (unfinished.length > 0 || enqueued !== null) {
    const holds = enqueued === null ? 'already holds' : `already holds ${formatCount(enqueued)} task(s)`;
    notes.push(`note: ${input.queue.url} ${holds}${unfinished.length > 0 ? ' from:' : ' (from no recorded run)'}`);
    for (const run of unfinished) notes.push(`  ${describeRun(run)}`);
    if (same) notes.push('  --again: inserting this table a second time, as asked');
  }
  return { alreadyQueued: null, notes };
}
