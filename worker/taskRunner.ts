/**
 * Runs checked tasks in the task threads, in the order they were leased: a task waits in the
 * backlog (its lease renewed meanwhile) until a thread is free; turns what the thread reports into
 * a happening for the outcome policy; aborts a task (timeout, lost lease, shutdown) and terminates
 * its thread if it does not return a moment later. It also measures how long a task holds a thread,
 * which bounds how far ahead of free threads the lease loop may lease (`prefetch`).
 */
import { ABORT_REASONS, GiveUpReason } from './events';
import { JobListener, PoolOptions, RunResult, TaskThread, ThreadPool } from './pool';
import { Failure, interpret, relayLog } from './results';
import type { Happening } from './outcome';
import type { Slot, SlotJob } from './slot';
import { SECOND } from './backoff';
import { envName } from '../lib/settings/table';

/** Tasks leased ahead of free threads, at most (and never more than can start within half a lease). */
export const MAX_PREFETCH = 20;
/** Jobs a thread holds at most (the running one included). */
export const MAX_THREAD_JOBS = 20;
/** A job sent ahead to a thread waits there about this long at most, at the measured pace. */
const THREAD_QUEUE_MS = 20;
/** A task sent ahead still waiting after its thread's current task ran this long is handed back. */
const HAND_BACK_AFTER_MS = 5 * THREAD_QUEUE_MS;
/** Weight of the latest run in the moving average of a task's time on a thread. */
const AVERAGE_WEIGHT = 0.1;

export interface TaskRunnerOptions {
  /** The task threads to start (`handBackAfterMs` is the runner's). */
  readonly pool: Omit<PoolOptions, 'handBackAfterMs'>;
  readonly concurrency: number;
  readonly leaseSeconds: number;
  readonly taskTimeoutSeconds: number | undefined;
  readonly taskHeapMb: number;
  readonly terminateAfterAbortMs: number;
  /** The task began on its thread. */
  readonly onStarted: (slot: Slot) => void;
  /** A thread became free (the lease loop may want more tasks). */
  readonly onThreadFree: () => void;
  /** Takes the task to its outcome once its thread has answered. */
  readonly conclude: (slot: Slot, happening: Happening, failure?: Failure) => Promise<void>;
}

interface Waiting {
  readonly slot: Slot;
  /** Lease order: a task handed back by a thread goes back to its place. */
  readonly order: number;
  readonly done: (outcome: Promise<void>) => void;
}

export class TaskRunner {
  readonly pool: ThreadPool<SlotJob>;
  private readonly backlog: Waiting[] = [];
  /** Tasks given to threads (running or sent ahead) and not yet answered. */
  private onThreads = 0;
  private leased = 0;
  private stopping = false;
  private pumpScheduled = false;
  /** Moving average of a task's time on a thread, in ms; undefined until one has run. */
  private averageMs: number | undefined;

  /** One listener for every job of every thread. */
  private readonly jobs: JobListener<SlotJob> = {
    log: (job, line) => relayLog(job.slot.log, line),
    start: (job) => this.started(job.slot),
    time: (_job, ms) => {
      this.averageMs = this.averageMs === undefined ? ms : this.averageMs + AVERAGE_WEIGHT * (ms - this.averageMs);
    },
  };

  constructor(private readonly o: TaskRunnerOptions) {
    // A replacement thread may take jobs at once.
    this.pool = new ThreadPool({ ...o.pool, handBackAfterMs: HAND_BACK_AFTER_MS }, this.jobs, () => this.pump());
  }

  /** Tasks running or waiting for a thread (not those being concluded with the queue). */
  get holding(): number {
    return this.onThreads + this.backlog.length;
  }

  /**
   * How many tasks the worker may hold beyond one per thread: those sent ahead to the threads, plus
   * as many as the threads can start within half a lease at the measured pace, at most MAX_PREFETCH
   * (or the concurrency, if larger); none before a task has run.
   */
  get prefetch(): number {
    if (this.averageMs === undefined) return 0;
    const { concurrency, leaseSeconds } = this.o;
    const startable = Math.floor((concurrency * leaseSeconds * SECOND) / 2 / Math.max(this.averageMs, 0.01));
    return concurrency * (this.threadJobs - 1) + Math.min(Math.max(MAX_PREFETCH, concurrency), startable);
  }

  /**
   * Jobs a thread may hold: one, or for tasks short enough that waking the thread for each would
   * cost more than the task, as many as it runs in THREAD_QUEUE_MS (at most MAX_THREAD_JOBS).
   */
  private get threadJobs(): number {
    if (this.averageMs === undefined || this.stopping) return 1;
    return Math.max(1, Math.min(MAX_THREAD_JOBS, Math.floor(THREAD_QUEUE_MS / Math.max(this.averageMs, 0.001))));
  }

  /** Runs the task once a thread is free; resolves once it is concluded. */
  enqueue(slot: Slot): Promise<void> {
    return this.wait(slot, this.leased++);
  }

  /** Shutdown: every task not started yet (waiting here or sent ahead to a thread) is released unstarted. */
  releaseBacklog(): void {
    this.stopping = true;
    for (const { slot, done } of this.backlog.splice(0)) {
      done(this.o.conclude(slot, { kind: 'unstarted-at-stop' }));
    }
    for (const thread of this.pool.threads) thread.cancelQueued();
  }

  private wait(slot: Slot, order: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = { slot, order, done: (outcome: Promise<void>) => outcome.then(resolve, reject) };
      let at = this.backlog.length;
      while (at > 0 && this.backlog[at - 1]!.order > order) at--;
      this.backlog.splice(at, 0, entry);
      this.pumpSoon();
    });
  }

  /**
   * Pumps once the tasks arriving together (a lease call's batch, a thread's answers) are all in:
   * one message to a thread carries them all.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Fills threads from the backlog: an empty thread, or one down to a quarter of its jobs, is topped
   * up, so that each message (and the thread's wake-up it costs) carries many short tasks.
   */
  pump(): void {
    const most = this.threadJobs;
    for (const thread of this.pool.threads) {
      if (this.backlog.length === 0) return;
      if (thread.dead || thread.count > Math.floor(most / 4)) continue;
      // Busy with a slow task: nothing more waits behind it (it may run for hours).
      if (thread.count > 0 && thread.runningForMs() > HAND_BACK_AFTER_MS) continue;
      const batch: Waiting[] = [];
      while (thread.count + batch.length < most && this.backlog.length > 0) {
        const entry = this.backlog.shift()!;
        if (entry.slot.concluded) entry.done(Promise.resolve());
        // Its lease went while it waited: someone else may hold it now, so it does not run here.
        else if (entry.slot.heartbeat.lost) entry.done(this.o.conclude(entry.slot, { kind: 'stopped' }));
        else batch.push(entry);
      }
      if (batch.length > 0) this.dispatch(thread, batch);
    }
  }

  private dispatch(thread: TaskThread<SlotJob>, batch: readonly Waiting[]): void {
    const jobs = batch.map(({ slot }): SlotJob => {
      const { leased: task } = slot;
      // Before `run`: it may start the first one at once, and a start looks at its slot's thread.
      slot.thread = thread;
      slot.job = { body: task.body, taskId: task.id, attempt: task.attempt, slot };
      return slot.job;
    });
    const results = thread.run(jobs);
    this.onThreads += batch.length;
    batch.forEach((entry, i) => entry.done(this.finish(entry, results[i]!)));
  }

  private started(slot: Slot): void {
    const { leased: task, log } = slot;
    slot.startedAt = Date.now();
    // Tasks short enough to be sent ahead start and end within ms: their outcome line (with
    // durationMs) says it all, and a second line per task cost ~10 µs of the main thread's ~100.
    if (this.threadJobs > 1) log.debug('task started');
    else log.info('task started');
    this.o.onStarted(slot);
    const timeout = this.o.taskTimeoutSeconds;
    if (timeout !== undefined) slot.timers.push(setTimeout(() => this.giveUp(slot, 'timeout'), timeout * SECOND));
    // Refused while it waited in the thread, and it began before the thread handed it back.
    if (slot.heartbeat.lost) this.giveUp(slot, 'lease-lost');
  }

  private async finish(entry: Waiting, outcome: Promise<RunResult>): Promise<void> {
    const { slot } = entry;
    let result: RunResult;
    try {
      result = await outcome;
    } finally {
      slot.thread = undefined;
      slot.job = undefined;
      this.onThreads--;
      // A thread has room again: the next task starts while this one is concluded with the queue.
      this.pumpSoon();
      this.o.onThreadFree();
    }
    if (result.kind === 'unstarted') {
      // Handed back (shutdown, lost lease) or its thread ended before reaching it: it never began.
      if (this.stopping) return this.o.conclude(slot, { kind: 'unstarted-at-stop' });
      return this.wait(slot, entry.order);
    }
    const [happening, failure] = interpret(result, slot.givenUp, this.o);
    return this.o.conclude(slot, happening, failure);
  }

  /**
   * Aborts the task's signal; terminates its thread if it has not returned a moment later. A task
   * sent ahead that has not begun is asked back instead (it then never runs here).
   */
  giveUp(slot: Slot, why: GiveUpReason, terminateAfterMs = this.o.terminateAfterAbortMs): void {
    const { thread, job } = slot;
    if (!thread || !job || slot.concluded) return;
    if (!thread.running(job)) {
      thread.cancelQueued();
      return;
    }
    if (!slot.givenUp) {
      slot.givenUp = why;
      const message =
        why === 'stopping'
          ? 'the worker is stopping'
          : why === 'timeout'
            ? `the task ran longer than ${envName('taskTimeoutSeconds')}=${this.o.taskTimeoutSeconds} s`
            : `the lease on task ${slot.leased.id} was lost`;
      thread.abort(job, ABORT_REASONS[why], message);
    }
    // Only while this task still runs on it: the thread may have gone on to the next one.
    const terminate = () => void (thread.running(job) && thread.terminate());
    if (terminateAfterMs <= 0) terminate();
    else slot.timers.push(setTimeout(terminate, terminateAfterMs));
  }

  /** The queue refused a renewal while the task ran or waited in its thread. */
  onLeaseRefused(slot: Slot): void {
    const { thread, job } = slot;
    if (slot.concluded || !thread || !job) return;
    if (!thread.running(job)) return thread.cancelQueued();
    slot.log.error(
      'lease lost while the task ran (renewal refused): aborting it; another worker may be running it now',
    );
    this.giveUp(slot, 'lease-lost');
  }
}
