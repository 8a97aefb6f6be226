/**
 * The worker's outcome recorder: counts each task's outcome per run in memory and flushes them,
 * with the worker's heartbeat, to the run store every few seconds and once more at the end
 * (docs/operations.md, "Exact counts per run"). The worker only calls `started` and `settled`;
 * a flush that fails (storage down) is reported and tried again at the next tick, never fatal.
 */
import { hostname } from 'node:os';
import { NO_RUN, type RunStore, type WorkerRunCounts } from './store';

/** How a leased task left the worker's hands. */
export type RunOutcome = 'completed' | 'failed' | 'retried' | 'released';

export interface OutcomeRecorder {
  /** A task of `run` (undefined: the message named none) was leased, at attempt `attempt`. */
  started(run: string | undefined, attempt: number): void;
  /** The task is done with: deleted, dead-lettered, released for a retry, or released unfinished. */
  settled(run: string | undefined, outcome: RunOutcome): void;
  /** Stops the timer and flushes for the last time (heartbeat with `stoppedAt`). */
  close(): Promise<void>;
}

/** Records nothing: for workers without a run store (tests, benchmarks of the bare loop). */
export const noOutcomeRecorder: OutcomeRecorder = {
  started: () => undefined,
  settled: () => undefined,
  close: async () => undefined,
};

/** Cloud stores (one object write per flush): every 5 s. */
export const DEFAULT_FLUSH_MS = 5000;
/** A file queue's store is a local folder (≈0.4 ms a flush): every second, so progress keeps up. */
export const LOCAL_FLUSH_MS = 1000;

export interface RunRecorderOptions {
  readonly worker: string;
  readonly queue: string;
  readonly codeVersion: string;
  readonly flushMs?: number;
  readonly onError?: (error: unknown) => void;
}

interface Tally {
  completed: number;
  failed: number;
  retried: number;
  retriesLeased: number;
  inFlight: number;
  firstAt: number | null;
  lastAt: number | null;
  dirty: boolean;
}

export class RunRecorder implements OutcomeRecorder {
  private readonly tallies = new Map<string, Tally>();
  private readonly startedAt = new Date().toISOString();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private stoppedAt: string | null = null;

  constructor(
    private readonly store: RunStore,
    private readonly options: RunRecorderOptions,
  ) {}

  /** Writes the first heartbeat and starts the periodic flush. */
  async start(): Promise<void> {
    await this.flush();
    this.timer = setInterval(() => void this.flush(), this.options.flushMs ?? DEFAULT_FLUSH_MS);
    this.timer.unref();
  }

  started(run: string | undefined, attempt: number): void {
    const tally = this.tally(run);
    tally.inFlight++;
    if (attempt > 1) tally.retriesLeased++;
    tally.dirty = true;
  }

  settled(run: string | undefined, outcome: RunOutcome): void {
    const tally = this.tally(run);
    tally.inFlight = Math.max(0, tally.inFlight - 1);
    if (outcome !== 'released') {
      tally[outcome]++;
      const now = Date.now();
      tally.firstAt ??= now;
      tally.lastAt = now;
    }
    tally.dirty = true;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stoppedAt = new Date().toISOString();
    for (const tally of this.tallies.values()) tally.inFlight = 0;
    await this.flush(true);
  }

  /** One flush at a time; a flush asked for meanwhile runs after it. */
  flush(all = false): Promise<void> {
    this.flushing = this.flushing.then(() => this.write(all));
    return this.flushing;
  }

  private tally(run: string | undefined): Tally {
    const key = run ?? NO_RUN;
    let tally = this.tallies.get(key);
    if (!tally) {
      tally = {
        completed: 0,
        failed: 0,
        retried: 0,
        retriesLeased: 0,
        inFlight: 0,
        firstAt: null,
        lastAt: null,
        dirty: true,
      };
      this.tallies.set(key, tally);
    }
    return tally;
  }

  private async write(all: boolean): Promise<void> {
    const { worker, codeVersion, queue } = this.options;
    const updatedAt = new Date().toISOString();
    const writes: Promise<void>[] = [];
    const totals = { inFlight: 0, completed: 0, failed: 0, retried: 0 };
    for (const [run, tally] of this.tallies) {
      totals.inFlight += tally.inFlight;
      totals.completed += tally.completed;
      totals.failed += tally.failed;
      totals.retried += tally.retried;
      // A run with tasks in flight is rewritten every time: its `updatedAt` vouches for `inFlight`.
      if (!tally.dirty && tally.inFlight === 0 && !all) continue;
      tally.dirty = false;
      const counts: WorkerRunCounts = {
        worker,
        run,
        completed: tally.completed,
        failed: tally.failed,
        retried: tally.retried,
        retriesLeased: tally.retriesLeased,
        inFlight: tally.inFlight,
        firstAt: tally.firstAt === null ? null : new Date(tally.firstAt).toISOString(),
        lastAt: tally.lastAt === null ? null : new Date(tally.lastAt).toISOString(),
        updatedAt,
        codeVersion,
      };
      writes.push(
        this.store.writeCounts(counts).catch((error: unknown) => {
          tally.dirty = true;
          throw error;
        }),
      );
    }
    const [host = hostname(), pid = String(process.pid)] = worker.split(':');
    writes.push(
      this.store.writeHeartbeat({
        worker,
        host,
        pid: Number(pid) || process.pid,
        codeVersion,
        queue,
        startedAt: this.startedAt,
        seenAt: updatedAt,
        stoppedAt: this.stoppedAt,
        ...totals,
      }),
    );
    const results = await Promise.allSettled(writes);
    for (const result of results) if (result.status === 'rejected') this.options.onError?.(result.reason);
  }
}
