/**
 * The dashboard's data interface: what `GET /api/summary` returns and `POST /api/requeue` takes.
 * The server (dashboard/source.ts) fills it from the same modules as `status` and `failures`;
 * the page (dashboard/client) only renders it. Types only: the browser bundle imports this file.
 */
import type { PubsubStatusReport } from '../lib/ops/pubsubStatus';
import type { RunsReport } from '../lib/ops/runsView';
import type { StatusReport } from '../lib/ops/status';
import type { QueueKind } from '../lib/queue/types';

/** One point of the throughput chart: the rate between this sample and the one before. */
export interface HistoryPoint {
  /** Epoch milliseconds of the sample. */
  readonly at: number;
  /** Tasks processed (completed + failed; SQS: fall of enqueued) per second since the previous sample. */
  readonly perSecond: number;
  readonly enqueued: number;
}

/** The whole queue's progress, as `status --watch` computes it. */
export interface QueueProgress {
  /** 0..1; `null` when it cannot be known. */
  readonly fraction: number | null;
  /** Tasks completed + failed (file queue), or drained since the dashboard started (SQS). */
  readonly done: number | null;
  /** Tasks inserted (file queue), or the largest queue length seen since the dashboard started (SQS). */
  readonly total: number | null;
  /** `counted`: from the backend's counters; `since-start`: approximate, from queue lengths. */
  readonly basis: 'counted' | 'since-start';
}

/** Dead-lettered tasks with the same error (as `npm run failures` groups them), as one row. */
export interface FailureGroup {
  /** What `POST /api/requeue` takes: the group's signature. */
  readonly key: string;
  /** `REASON: first line`, with numbers, ids and quoted text blanked (`failures`' signature). */
  readonly error: string;
  readonly count: number;
  readonly tasks: readonly string[];
  readonly firstAt: string | null;
  readonly lastAt: string | null;
  readonly runs: readonly string[];
  /** The code versions the workers that gave up on them ran. */
  readonly codeVersions: readonly string[];
  /** The group's earliest failure, to see what failed. */
  readonly example: {
    readonly id: string;
    readonly run: string | null;
    /** Its row in the run's table (0-based). */
    readonly row: number | null;
    /** Its own error line, numbers and all. */
    readonly message: string;
    readonly params: Record<string, unknown> | null;
    readonly attempts: number | null;
    readonly worker: string | null;
    readonly stack: string | null;
    /** The command that prints its log lines. */
    readonly logs: string;
  };
}

export interface Summary {
  readonly queue: { readonly url: string; readonly kind: QueueKind };
  /** ISO 8601 time of the last sample. */
  readonly time: string;
  readonly sampleSeconds: number;
  /** The same object `npm run status -- --json` prints, with throughput and ETA from the dashboard's samples. */
  readonly status: StatusReport | PubsubStatusReport;
  readonly progress: QueueProgress;
  /** Oldest first; covers the time this dashboard has been running (at most `historyLimit` points). */
  readonly history: readonly HistoryPoint[];
  /**
   * The runs with their exact per-run counts and the workers seen recently, as `status --json`
   * prints them under `runs` (lib/ops/runsView.ts); `null` when the run store could not be read.
   */
  readonly runs: RunsReport | null;
  readonly failures: { readonly total: number; readonly groups: readonly FailureGroup[] };
  /** What the page cannot show for this backend, and why. */
  readonly notes: readonly string[];
  /** The last sampling error, when the last attempt failed (the dashboard keeps sampling). */
  readonly problem: string | null;
}

export interface RequeueRequest {
  /** A `FailureGroup.key` from the summary. */
  readonly group: string;
}

export interface RequeueResponse {
  readonly moved: number;
  /** What to tell the user (e.g. restart workers that run old code). */
  readonly message: string;
  readonly summary: Summary;
}
