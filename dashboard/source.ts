/**
 * The dashboard's data: samples the queue every few seconds (the counts `status` reads, the dead
 * letters `failures` reads), keeps the samples in memory for the throughput chart and the ETA, and
 * builds the `Summary` the page renders. Requeueing a failure group goes through here too, so the
 * next summary already shows the change.
 */
import { errorSignature } from '../lib/ops/failureGroups';
import { describeDeadLetter, type FailureRow } from '../lib/ops/failures';
import { versionNotes } from '../lib/ops/requeueNotes';
import { codeVersion } from '../lib/runs/codeVersion';
import { recordRequeued } from '../lib/runs/requeued';
import { buildPubsubStatusReport, PUBSUB_COUNTS_NOTE } from '../lib/ops/pubsubStatus';
import { buildStatusReport, progressOf, type StatusReport } from '../lib/ops/status';
import { DEFAULT_WINDOW_MS, ThroughputEstimator } from '../lib/ops/throughput';
import { formatCount } from '../lib/ops/units';
import { runsReport, type RunsReport } from '../lib/ops/runsView';
import type { RunStore } from '../lib/runs/store';
import { readRuns, RunRates } from '../lib/runs/summary';
import { UserError } from '../lib/errors';
import type { PubsubQueue } from '../lib/queue/pubsubQueue';
import type { Queue, QueueCounts } from '../lib/queue/types';
import type { HistoryPoint, QueueProgress, RequeueResponse, Summary } from './api';
import { failureGroupsView } from './failureView';

/** How old the listed dead letters may get while the failed count stays the same. */
export const FAILURE_RELIST_MS = 15_000;

/** One hour of samples at the default interval. */
export const DEFAULT_HISTORY_LIMIT = 1800;

export interface QueueDashboardOptions {
  /** Seconds between samples. */
  readonly intervalSeconds: number;
  /** Where the queue's run records, per-run counts and heartbeats are (none: no runs shown). */
  readonly runs?: RunStore;
  /** Chart points kept; older ones are dropped. */
  readonly historyLimit?: number;
  readonly now?: () => number;
}

const SQS_NOTE =
  "SQS's counts are approximate and up to a minute behind; it counts neither insertions nor completions, " +
  'so progress is the share of the largest queue length seen since this dashboard started that has drained.';
const NO_RUNS_NOTE = 'Runs and workers are not shown: this queue has no run records or worker heartbeats to read yet.';

/** Tasks that have left the queue, where the backend counts them. */
function processedOf(counts: QueueCounts): number | undefined {
  return counts.completed === undefined ? undefined : counts.completed + counts.failed;
}

export async function listFailures(queue: Queue): Promise<FailureRow[]> {
  const rows: FailureRow[] = [];
  for await (const dead of queue.listDeadLetters()) rows.push(describeDeadLetter(dead));
  return rows;
}

export class QueueDashboard {
  private readonly now: () => number;
  private readonly historyLimit: number;
  private readonly estimator: ThroughputEstimator;
  private history: HistoryPoint[] = [];
  private previous: { at: number; counts: QueueCounts } | undefined;
  private peakEnqueued = 0;
  private last: Summary | undefined;
  private sampling: Promise<Summary> | undefined;
  /** Samples and requeues take turns: on SQS and Pub/Sub, reading the dead letters hides them meanwhile. */
  private turn: Promise<unknown> = Promise.resolve();
  private failures: { rows: FailureRow[]; at: number; failed: number | undefined } | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Per-run rates over the last minute, as `status --watch` shows them. */
  private readonly rates = new RunRates();

  constructor(
    readonly queue: Queue,
    private readonly options: QueueDashboardOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    this.estimator = new ThroughputEstimator(Math.max(DEFAULT_WINDOW_MS, 3 * options.intervalSeconds * 1000));
  }

  /** Samples every `intervalSeconds` until `stop()`; a failed sample is shown on the page, never fatal. */
  start(): void {
    const tick = () => {
      this.timer = setTimeout(() => {
        this.sample()
          .catch(() => undefined)
          .finally(() => {
            if (this.timer !== undefined) tick();
          });
      }, this.options.intervalSeconds * 1000);
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The latest summary (sampling first when there is none yet). */
  async summary(): Promise<Summary> {
    return this.last ?? this.sample();
  }

  /**
   * Takes a sample now (concurrent callers share it). Before the first success an error is
   * thrown (the command reports it and does not start); after it, the error is kept in `problem`.
   */
  sample(): Promise<Summary> {
    this.sampling ??= this.inTurn(() => this.takeSample()).finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.turn.then(work);
    this.turn = next.catch(() => undefined);
    return next;
  }

  /** Moves the dead letters of one failure group back to the queue, then samples again. */
  requeue(groupKey: string): Promise<RequeueResponse> {
    const moving = this.inTurn(async () => {
      const chosen = (await listFailures(this.queue)).filter((row) => errorSignature(row) === groupKey);
      if (chosen.length === 0) {
        throw new UserError(
          'No dead-lettered task has that error any more (requeued already, or from another page?): ' +
            'nothing was requeued.',
        );
      }
      this.failures = undefined; // list them again at the next sample
      const moved = await this.queue.requeueDeadLetters(chosen.map((row) => row.id));
      // As `npm run requeue` does: the requeued tasks leave their runs' failed counts.
      if (moved > 0 && this.options.runs) await recordRequeued(this.options.runs, chosen);
      return { moved, chosen };
    });
    return moving.then(async ({ moved, chosen }) => {
      const summary = await this.sample();
      const noun = chosen.length === 1 ? 'task' : 'tasks';
      const missed =
        moved < chosen.length
          ? ` ${formatCount(chosen.length - moved)} could not be moved now: another command was reading the ` +
            'dead letters (SQS and Pub/Sub hide a message while it is read). Try again in a minute.'
          : '';
      const workers = summary.runs?.workers.map((w) => w.codeVersion) ?? [];
      return {
        moved,
        summary,
        message: [
          `Requeued ${formatCount(moved)} of ${formatCount(chosen.length)} ${noun}.${missed}`,
          ...versionNotes(chosen, codeVersion(), workers),
        ].join(' '),
      };
    });
  }

  /**
   * The dead letters, listed again when the failed count changes and at least every
   * `FAILURE_RELIST_MS`, not at every sample: there may be many, and on SQS and Pub/Sub a listing
   * hides them from other commands (`npm run requeue`) while it reads.
   */
  private async currentFailures(failed: number | undefined, at: number): Promise<FailureRow[]> {
    const cached = this.failures;
    const sameCount = failed === undefined || cached?.failed === failed;
    if (cached && sameCount && at - cached.at < FAILURE_RELIST_MS) return cached.rows;
    const rows = await listFailures(this.queue);
    this.failures = { rows, at, failed };
    return rows;
  }

  private async takeSample(): Promise<Summary> {
    try {
      const at = this.now();
      const counts = this.queue.kind === 'pubsub' ? undefined : await this.queue.counts();
      const failures = await this.currentFailures(counts?.failed, at);
      const measured = counts ? this.countsStatus(counts, at) : await this.pubsubStatus(failures.length, at);
      const runs = await this.readRuns(at);
      this.last = {
        queue: { url: this.queue.url, kind: this.queue.kind },
        time: new Date(at).toISOString(),
        sampleSeconds: this.options.intervalSeconds,
        ...measured,
        notes: runs.note ? [...measured.notes, runs.note] : measured.notes,
        history: this.history,
        runs: runs.report,
        failures: { total: failures.length, groups: failureGroupsView(failures) },
        problem: null,
      };
      return this.last;
    } catch (error) {
      if (!this.last) throw error;
      this.last = { ...this.last, problem: (error as Error).message.split('\n', 1)[0] };
      return this.last;
    }
  }

  /** The run store's runs and workers; a store that cannot be read is a note, not a failed sample. */
  private async readRuns(at: number): Promise<{ report: RunsReport | null; note?: string }> {
    const store = this.options.runs;
    if (!store) return { report: null, note: 'Runs are not shown: no run store was given.' };
    try {
      return { report: runsReport(this.rates.apply(await readRuns(store, at))) };
    } catch (error) {
      const why = (error as Error).message.split('\n', 1)[0];
      return { report: null, note: `Runs are not shown: the run store ${store.url} could not be read (${why}).` };
    }
  }

  private async pubsubStatus(failed: number, at: number): Promise<Pick<Summary, 'status' | 'progress' | 'notes'>> {
    const description = await (this.queue as PubsubQueue).describe();
    return {
      status: buildPubsubStatusReport(this.queue.url, description, { count: failed, isLowerBound: false }, at),
      progress: { fraction: null, done: null, total: null, basis: 'since-start' },
      notes: [PUBSUB_COUNTS_NOTE],
    };
  }

  private countsStatus(counts: QueueCounts, at: number): Pick<Summary, 'status' | 'progress' | 'notes'> {
    this.addHistory(at, counts);
    this.estimator.add({ at, counts });
    this.peakEnqueued = Math.max(this.peakEnqueued, counts.enqueued);
    const status = buildStatusReport(this.queue, counts, at, this.estimator.estimate());
    return {
      status,
      progress: this.progress(status),
      notes: this.queue.kind === 'sqs' ? [SQS_NOTE] : [],
    };
  }

  private progress(status: StatusReport): QueueProgress {
    const fraction = progressOf(status, this.peakEnqueued);
    if (status.inserted !== null && status.completed !== null) {
      return { fraction, done: status.completed + status.failed, total: status.inserted, basis: 'counted' };
    }
    const drained = Math.max(0, this.peakEnqueued - status.enqueued);
    return { fraction, done: drained, total: this.peakEnqueued, basis: 'since-start' };
  }

  /** The rate between the previous sample and this one: one chart point. */
  private addHistory(at: number, counts: QueueCounts): void {
    const before = this.previous;
    this.previous = { at, counts };
    if (!before || at <= before.at) return;
    const seconds = (at - before.at) / 1000;
    const after = processedOf(counts);
    const earlier = processedOf(before.counts);
    // A purge resets the counters: that step is not throughput.
    if (after !== undefined && earlier !== undefined && after < earlier) return;
    const perSecond =
      after !== undefined && earlier !== undefined
        ? (after - earlier) / seconds
        : Math.max(0, before.counts.enqueued - counts.enqueued) / seconds;
    this.history = [...this.history, { at, perSecond, enqueued: counts.enqueued }].slice(-this.historyLimit);
  }
}
