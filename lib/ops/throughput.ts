/**
 * Throughput and ETA from counts sampled over time (kept in memory while `status --watch` runs).
 *
 * "Processed" means a task left the queue, successfully or dead-lettered: that is what brings the
 * end closer. Where the backend counts completions (file queue) the rate is exact:
 * Δ(completed + failed) / Δt, and the ETA is `enqueued / rate` even while an inserter is still
 * adding tasks. Where it does not (SQS) the rate is the fall of `enqueued` over time, approximate
 * like the counts it comes from, and it reads low (or unknown) while tasks are still being inserted.
 */
import type { QueueCounts } from '../queue/types';

/** Samples older than this are dropped, so the rate follows changes in the number of workers. */
export const DEFAULT_WINDOW_MS = 60_000;

export interface Sample {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly counts: QueueCounts;
}

export type ThroughputBasis = 'processed' | 'drained';

export interface ThroughputEstimate {
  /** Tasks processed per second over the window. */
  readonly perSecond: number;
  /** `processed`: from completions + dead letters (exact); `drained`: from the fall of `enqueued` (approximate). */
  readonly basis: ThroughputBasis;
  /** True when it comes from approximate counts. */
  readonly approximate: boolean;
  /** Seconds between the oldest and newest sample used. */
  readonly windowSeconds: number;
  /** Seconds until `enqueued` reaches 0 at this rate; `null` when the rate is 0 (nothing moving). */
  readonly etaSeconds: number | null;
}

/** Tasks that have left the queue by the time of the sample, when the backend counts them. */
function processed(counts: QueueCounts): number | undefined {
  return counts.completed === undefined ? undefined : counts.completed + counts.failed;
}

export class ThroughputEstimator {
  private samples: Sample[] = [];

  constructor(private readonly windowMs: number = DEFAULT_WINDOW_MS) {}

  add(sample: Sample): void {
    const last = this.samples.at(-1);
    // A purge (counters reset) or a clock step makes old samples meaningless: start over.
    const reset =
      last !== undefined &&
      (sample.at <= last.at || (processed(sample.counts) ?? Infinity) < (processed(last.counts) ?? -Infinity));
    if (reset) this.samples = [];
    this.samples.push(sample);
    // Keep one sample at or beyond the window's start, so the window is always fully spanned.
    const start = sample.at - this.windowMs;
    while (this.samples.length > 2 && this.samples[1].at <= start) this.samples.shift();
  }

  estimate(): ThroughputEstimate | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.at <= first.at) return null;
    const seconds = (last.at - first.at) / 1000;
    const before = processed(first.counts);
    const after = processed(last.counts);
    const exact = before !== undefined && after !== undefined;
    const perSecond = exact
      ? (after - before) / seconds
      : Math.max(0, first.counts.enqueued - last.counts.enqueued) / seconds;
    return {
      perSecond,
      basis: exact ? 'processed' : 'drained',
      approximate: !exact || last.counts.approximate,
      windowSeconds: Math.round(seconds * 10) / 10,
      etaSeconds: perSecond > 0 ? last.counts.enqueued / perSecond : last.counts.enqueued === 0 ? 0 : null,
    };
  }
}
