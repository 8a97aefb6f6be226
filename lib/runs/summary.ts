/**
 * Per-run progress from the run store: done, failed, retrying, in flight, left, rate and ETA
 * (docs/operations.md, "Exact counts per run"). `status`, `npm start`'s bar and the dashboard all
 * read runs through `readRuns`, so they show the same numbers.
 */
import { ThroughputEstimator } from '../ops/throughput';
import type { RunRecord } from './record';
import { NO_RUN, type Heartbeat, type RunStore, type WorkerRunCounts } from './store';

/** A heartbeat or an in-flight count older than this is stale (4 flushes of 5 s). */
export const SEEN_RECENTLY_MS = 20_000;

export interface RunCounts {
  readonly done: number;
  readonly failed: number;
  readonly retrying: number;
  readonly inFlight: number;
}

export interface RunProgress extends RunCounts {
  readonly id: string;
  readonly record: RunRecord | null;
  /** Tasks the run put on the queue; `null` while its insert is still going (or for "no run"). */
  readonly inserted: number | null;
  /** inserted − done − failed; `null` when inserted is unknown. */
  readonly left: number | null;
  /** Tasks finished (done + failed) per second; `null` until known. */
  readonly perSecond: number | null;
  /** Seconds until `left` is 0 at that rate; `null` when unknown. */
  readonly etaSeconds: number | null;
  /** Every inserted task is done or failed. */
  readonly finished: boolean;
  /** Code versions the workers that ran its tasks had. */
  readonly workerVersions: readonly string[];
  readonly firstOutcomeAt: string | null;
  readonly lastOutcomeAt: string | null;
}

export interface RunsSnapshot {
  readonly store: string;
  readonly at: number;
  /** Oldest first. */
  readonly runs: readonly RunProgress[];
  /** Tasks without a run id (inserted by Python, or before runs existed); `null` when there were none. */
  readonly noRun: RunProgress | null;
  /** Workers whose heartbeat is recent and that have not stopped. */
  readonly workers: readonly Heartbeat[];
}

function sum(counts: readonly WorkerRunCounts[], at: number): RunCounts & { firstAt: number; lastAt: number } {
  let done = 0,
    failed = 0,
    retried = 0,
    retriesLeased = 0,
    inFlight = 0,
    firstAt = Infinity,
    lastAt = -Infinity;
  for (const c of counts) {
    done += c.completed;
    failed += c.failed;
    retried += c.retried;
    retriesLeased += c.retriesLeased;
    if (at - Date.parse(c.updatedAt) < SEEN_RECENTLY_MS) inFlight += c.inFlight;
    if (c.firstAt) firstAt = Math.min(firstAt, Date.parse(c.firstAt));
    if (c.lastAt) lastAt = Math.max(lastAt, Date.parse(c.lastAt));
  }
  return { done, failed, retrying: Math.max(0, retried - retriesLeased), inFlight, firstAt, lastAt };
}

export function progressOfRun(
  id: string,
  record: RunRecord | null,
  counts: readonly WorkerRunCounts[],
  at: number,
): RunProgress {
  const total = sum(counts, at);
  const inserted = record?.inserted ?? null;
  const left = inserted === null ? null : Math.max(0, inserted - total.done - total.failed);
  const span = (total.lastAt - total.firstAt) / 1000;
  const processed = total.done + total.failed;
  const perSecond = Number.isFinite(span) && span >= 1 && processed > 1 ? processed / span : null;
  return {
    id,
    record,
    inserted,
    done: total.done,
    failed: total.failed,
    retrying: total.retrying,
    inFlight: total.inFlight,
    left,
    perSecond,
    etaSeconds: etaOf(left, perSecond),
    finished: left === 0 && record?.state !== 'inserting',
    workerVersions: [...new Set(counts.map((c) => c.codeVersion))].filter((v) => v !== 'requeue').sort(),
    firstOutcomeAt: Number.isFinite(total.firstAt) ? new Date(total.firstAt).toISOString() : null,
    lastOutcomeAt: Number.isFinite(total.lastAt) ? new Date(total.lastAt).toISOString() : null,
  };
}

function etaOf(left: number | null, perSecond: number | null): number | null {
  if (left === null) return null;
  if (left === 0) return 0;
  return perSecond && perSecond > 0 ? left / perSecond : null;
}

/** Reads every run (or those named) with its counts, and the workers seen recently. */
export async function readRuns(
  store: RunStore,
  at: number = Date.now(),
  only?: readonly string[],
): Promise<RunsSnapshot> {
  const [records, heartbeats] = await Promise.all([store.listRuns(), store.listWorkers()]);
  const chosen = only ? records.filter((r) => only.includes(r.id)) : records;
  const runs = await Promise.all(chosen.map(async (r) => progressOfRun(r.id, r, await store.readCounts(r.id), at)));
  const other = only ? [] : await store.readCounts(NO_RUN);
  return {
    store: store.url,
    at,
    runs,
    noRun: other.length > 0 ? progressOfRun(NO_RUN, null, other, at) : null,
    workers: heartbeats.filter((h) => h.stoppedAt === null && at - Date.parse(h.seenAt) < SEEN_RECENTLY_MS),
  };
}

/** While watching: each run's rate over the last minute instead of its average since the start. */
export class RunRates {
  private readonly estimators = new Map<string, ThroughputEstimator>();

  apply(snapshot: RunsSnapshot): RunsSnapshot {
    return { ...snapshot, runs: snapshot.runs.map((run) => this.rate(run, snapshot.at)) };
  }

  private rate(run: RunProgress, at: number): RunProgress {
    let estimator = this.estimators.get(run.id);
    if (!estimator) this.estimators.set(run.id, (estimator = new ThroughputEstimator()));
    estimator.add({
      at,
      counts: {
        enqueued: run.left ?? 0,
        leased: run.inFlight,
        delayed: 0,
        completed: run.done,
        failed: run.failed,
        approximate: false,
      },
    });
    const estimate = estimator.estimate();
    if (!estimate) return run;
    return { ...run, perSecond: estimate.perSecond, etaSeconds: etaOf(run.left, estimate.perSecond) };
  }
}
