/**
 * The `status` report: one object for `--json`, and its rendering as aligned lines for people.
 * Percentages follow `ptq status`: enqueued as "% left" and completed as % of inserted, leased
 * as % of the queue.
 */
import type { QueueCounts, QueueKind } from '../queue/types';
import type { ThroughputEstimate } from './throughput';
import type { RunsReport } from './runsView';
import type { ClusterReport } from './clusterReport';
import { alignColumns, formatClock, formatCount, formatDuration, formatPercent, formatRate, percentOf } from './units';

/** The `--json` shape of `status` (documented in docs/operations.md; keep keys stable). */
export interface StatusReport {
  readonly queue: string;
  readonly kind: QueueKind;
  /** ISO 8601 time of the sample. */
  readonly time: string;
  /**
   * True when enqueued/leased/delayed/failed are estimates (SQS; a file queue whose `queue/` holds
   * more files than `status` reads in a second: enqueued from the counters, leased from a sample).
   */
  readonly approximate: boolean;
  /** `null` where the backend does not count (SQS). */
  readonly inserted: number | null;
  readonly enqueued: number;
  readonly leased: number;
  readonly delayed: number;
  /** `null` where the backend does not count (SQS). */
  readonly completed: number | null;
  readonly failed: number;
  readonly percent: {
    /** enqueued / inserted ("left"). */
    readonly enqueued: number | null;
    /** leased / enqueued ("of queue"). */
    readonly leased: number | null;
    readonly completed: number | null;
    readonly failed: number | null;
  };
  /** Only while watching (two samples are needed); `null` otherwise. */
  readonly throughput: {
    readonly perSecond: number;
    readonly basis: ThroughputEstimate['basis'];
    readonly approximate: boolean;
    readonly windowSeconds: number;
  } | null;
  /** Seconds until the queue is empty at the current throughput; `null` when unknown. */
  readonly etaSeconds: number | null;
  /** No task is enqueued (visible, leased or delayed). */
  readonly drained: boolean;
  /** Per-run numbers from the run store (docs/operations.md, "Runs"); absent when not read. */
  readonly runs?: RunsReport;
  /** `--cluster`: the workers' Job/Deployment, pods and the nodes from the Kubernetes API. */
  readonly cluster?: ClusterReport;
}

export function buildStatusReport(
  queue: { readonly url: string; readonly kind: QueueKind },
  counts: QueueCounts,
  at: number,
  estimate: ThroughputEstimate | null = null,
  runs?: RunsReport,
): StatusReport {
  return {
    queue: queue.url,
    kind: queue.kind,
    time: new Date(at).toISOString(),
    approximate: counts.approximate,
    inserted: counts.inserted ?? null,
    enqueued: counts.enqueued,
    leased: counts.leased,
    delayed: counts.delayed,
    completed: counts.completed ?? null,
    failed: counts.failed,
    percent: {
      enqueued: percentOf(counts.enqueued, counts.inserted),
      leased: percentOf(counts.leased, counts.enqueued),
      completed: percentOf(counts.completed, counts.inserted),
      failed: percentOf(counts.failed, counts.inserted),
    },
    throughput: estimate && {
      perSecond: Math.round(estimate.perSecond * 1000) / 1000,
      basis: estimate.basis,
      approximate: estimate.approximate,
      windowSeconds: estimate.windowSeconds,
    },
    etaSeconds: estimate && estimate.etaSeconds !== null ? Math.round(estimate.etaSeconds) : null,
    drained: counts.enqueued === 0,
    ...(runs ? { runs } : {}),
  };
}

const APPROX = '~';

/**
 * The counts as aligned lines: label, number, percentage, note. On SQS the numbers carry `~`
 * (approximate) and the counts SQS does not keep say "unknown" and why.
 */
export function renderCounts(report: StatusReport): string[] {
  const approx = report.approximate ? APPROX : '';
  const count = (n: number) => `${approx}${formatCount(n)}`;
  const unknown = 'unknown';
  // Shares of "inserted" mean nothing where insertions are not counted (SQS): leave them blank.
  const ofInserted = (percent: number | null) => (report.inserted === null ? '' : formatPercent(percent));
  const rows: string[][] = [
    [
      'inserted',
      report.inserted === null ? unknown : formatCount(report.inserted),
      '',
      report.inserted === null ? 'SQS does not count insertions' : '',
    ],
    [
      'enqueued',
      count(report.enqueued),
      report.inserted === null ? '' : `${formatPercent(report.percent.enqueued)} left`,
      '',
    ],
    ['leased', count(report.leased), `${formatPercent(report.percent.leased)} of queue`, 'in flight'],
  ];
  if (report.kind === 'sqs') rows.push(['delayed', count(report.delayed), '', 'not leasable yet']);
  rows.push(
    [
      'completed',
      report.completed === null ? unknown : formatCount(report.completed),
      ofInserted(report.percent.completed),
      report.completed === null ? 'SQS does not count completions' : '',
    ],
    [
      'failed',
      count(report.failed),
      ofInserted(report.percent.failed),
      report.failed > 0 ? 'dead-lettered: npm run failures' : 'dead-lettered',
    ],
  );
  return alignColumns(rows, ['left', 'right', 'right', 'left']);
}

/** The throughput line: rate and ETA while watching, else how to get them. */
export function renderThroughput(report: StatusReport, now: number): string {
  const t = report.throughput;
  if (!t) return 'throughput  (needs two samples: npm run status -- --watch)';
  const approx = t.approximate ? APPROX : '';
  const basis = t.basis === 'processed' ? 'completed + failed' : 'fall of enqueued';
  const eta = report.drained
    ? 'queue drained'
    : report.etaSeconds === null
      ? 'ETA unknown (nothing finished in the window)'
      : `ETA ${approx}${formatDuration(report.etaSeconds)} (about ${formatClock(now + report.etaSeconds * 1000)})`;
  return `throughput  ${approx}${formatRate(t.perSecond)} (${basis}, last ${formatDuration(t.windowSeconds)})   ${eta}`;
}

/** The header line: which queue, and on SQS what `~` means. */
export function renderHeader(report: StatusReport): string {
  const kind = report.kind === 'fq' ? 'file queue' : 'SQS';
  const why =
    report.kind === 'fq'
      ? 'too many files to read in time: enqueued from the counters, leased from a sample of queue/'
      : 'SQS updates its counts with a delay of up to a minute';
  const note = report.approximate ? `; ~ = approximate, ${why}` : '';
  return `${report.queue} (${kind}${note})`;
}

/**
 * How far the run is, 0..1, for the progress bar; `null` when it cannot be known. File queue:
 * (completed + failed) / inserted. SQS: the share of the largest queue length seen while
 * watching that has drained since (approximate).
 */
export function progressOf(report: StatusReport, peakEnqueued: number): number | null {
  if (report.inserted !== null && report.completed !== null) {
    return report.inserted > 0 ? Math.min(1, (report.completed + report.failed) / report.inserted) : null;
  }
  return peakEnqueued > 0 ? Math.min(1, Math.max(0, (peakEnqueued - report.enqueued) / peakEnqueued)) : null;
}

/** One plain line per sample, for `--watch` when stdout is not a terminal (logs, CI). */
export function renderWatchLine(report: StatusReport): string {
  const approx = report.approximate ? APPROX : '';
  const parts = [
    report.time,
    report.inserted === null ? null : `inserted=${report.inserted}`,
    `enqueued=${approx}${report.enqueued}`,
    `leased=${approx}${report.leased}`,
    report.completed === null ? null : `completed=${report.completed}`,
    `failed=${approx}${report.failed}`,
    report.throughput ? `rate=${approx}${formatRate(report.throughput.perSecond)}` : null,
    report.drained
      ? 'drained'
      : report.etaSeconds === null
        ? null
        : `eta=${approx}${formatDuration(report.etaSeconds)}`,
  ];
  return parts.filter((p) => p !== null).join(' ');
}
