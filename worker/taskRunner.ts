/**
 * Runs checked tasks in the task threads, in the order they were leased: a task waits in the
 * backlog (its lease renewed meanwhile) until a thread is free; turns what the thread reports into
 * a happening for the outcome policy; aborts a task (timeout, lost lease, shutdown) and terminates
 * its thread if it does not return a moment later. It also measures how long a task holds a thread,
 * which bounds how far ahead of free threads the lease loop may lease (`prefetch`).
 */
import { ABORT_REASONS, GiveUpReason, TaskStartedEvent } from './events';
import type { RunResult, ThreadPool } from './pool';
import { Failure, interpret, relayLog } from './results';
import type { Happening } from './outcome';
import type { Slot } from './slot';
import { SECOND } from './backoff';
import { envName } from '../lib/settings/table';

/** Tasks leased ahead of free threads, at most (and never more than can start within half a lease). */
export const MAX_PREFETCH = 20;
/** Weight of the latest run in the moving average of a task's time on a thread. */
const AVERAGE_WEIGHT = 0.1;

export interface TaskRunnerOptions {
  readonly pool: ThreadPool;
  readonly concurrency: number;
  readonly leaseSeconds: number;
  readonly taskTimeoutSeconds: number | undefined;
  readonly taskHeapMb: number;
  readonly terminateAfterAbortMs: number;
  readonly onStarted: (event: TaskStartedEvent) => void;
  /** A thread became free (the lease loop may want more tasks). */
  readonly onThreadFree: () => void;
  /** Takes the task to its outcome once its thread has answered. */
  readonly conclude: (slot: Slot, happening: Happening, failure?: Failure) => Promise<void>;
}

interface Waiting {
  readonly slot: Slot;
  readonly done: (outcome: Promise<void>) => void;
}

export class TaskRunner {
  private readonly backlog: Waiting[] = [];
  private running = 0;
  /** Moving average of a task's time on a thread, in ms; undefined until one has run. */
  private averageMs: number | undefined;

  constructor(private readonly o: TaskRunnerOptions) {}

  /** Tasks running or waiting for a thread (not those being concluded with the queue). */
  get holding(): number {
    return this.running + this.backlog.length;
  }

  /**
   * How many tasks the worker may hold beyond its threads: as many as the threads can start within
   * half a lease at the measured pace, at most MAX_PREFETCH (or the concurrency, if larger); none
   * before a task has run.
   */
  get prefetch(): number {
    if (this.averageMs === undefined) return 0;
    const { concurrency, leaseSeconds } = this.o;
    const startable = Math.floor((concurrency * leaseSeconds * SECOND) / 2 / Math.max(this.averageMs, 0.01));
    return Math.min(Math.max(MAX_PREFETCH, concurrency), startable);
  }

  /** Runs the task once a thread is free; resolves once it is concluded. */
  enqueue(slot: Slot): Promise<void> {
    return new Promise((resolve, reject) => {
      this.backlog.push({ slot, done: (outcome) => outcome.then(resolve, reject) });
      this.pump();
    });
  }

  /** Shutdown: every task still waiting for a thread is released unstarted. */
  releaseBacklog(): void {
    for (const { slot, done } of this.backlog.splice(0)) {
      done(this.o.conclude(slot, { kind: 'unstarted-at-stop' }));
    }
  }

  private pump(): void {
    while (this.running < this.o.concurrency && this.backlog.length > 0) {
      const { slot, done } = this.backlog.shift()!;
      if (slot.concluded) {
        done(Promise.resolve());
        continue;
      }
      // Its lease went while it waited: someone else may hold it now, so it does not run here.
      if (slot.heartbeat.lost) {
        done(this.o.conclude(slot, { kind: 'stopped' }));
        continue;
      }
      this.running++;
      done(this.run(slot));
    }
  }

  private async run(slot: Slot): Promise<void> {
    const { leased: task, log } = slot;
    const { pool } = this.o;
    const thread = pool.take();
    slot.thread = thread;
    // A thread replacing one that died may still be loading the task module: that is not the task's time.
    if (!thread.loaded) await thread.ready;
    const started = (slot.startedAt = Date.now());
    log.info('task started');
    this.o.onStarted({ taskId: task.id, task: slot.name!, attempt: task.attempt });
    const timeout = this.o.taskTimeoutSeconds;
    if (timeout !== undefined) slot.timers.push(setTimeout(() => this.giveUp(slot, 'timeout'), timeout * SECOND));
    let result: RunResult;
    try {
      // Terminated (or died) while loading: the task never began.
      result = thread.dead
        ? { kind: 'terminated' }
        : await thread.run({
            body: task.body,
            taskId: task.id,
            attempt: task.attempt,
            onLog: (line) => relayLog(log, line),
          });
    } finally {
      slot.thread = undefined;
      pool.give(thread);
      this.running--;
      const tookMs = Date.now() - started;
      this.averageMs =
        this.averageMs === undefined ? tookMs : this.averageMs + AVERAGE_WEIGHT * (tookMs - this.averageMs);
      // The thread is free again: the next task starts while this one is concluded with the queue.
      this.pump();
      this.o.onThreadFree();
    }
    const [happening, failure] = interpret(result, slot.givenUp, this.o);
    return this.o.conclude(slot, happening, failure);
  }

  /** Aborts the task's signal; terminates its thread if it has not returned a moment later. */
  giveUp(slot: Slot, why: GiveUpReason, terminateAfterMs = this.o.terminateAfterAbortMs): void {
    const thread = slot.thread;
    if (!thread || slot.concluded) return;
    if (!slot.givenUp) {
      slot.givenUp = why;
      const message =
        why === 'stopping'
          ? 'the worker is stopping'
          : why === 'timeout'
            ? `the task ran longer than ${envName('taskTimeoutSeconds')}=${this.o.taskTimeoutSeconds} s`
            : `the lease on task ${slot.leased.id} was lost`;
      thread.abort(ABORT_REASONS[why], message);
    }
    if (terminateAfterMs <= 0) void thread.terminate();
    else slot.timers.push(setTimeout(() => void thread.terminate(), terminateAfterMs));
  }

  /** The queue refused a renewal while the task ran. */
  onLeaseRefused(slot: Slot): void {
    if (slot.concluded || !slot.thread) return;
    slot.log.error(
      'lease lost while the task ran (renewal refused): aborting it; another worker may be running it now',
    );
    this.giveUp(slot, 'lease-lost');
  }
}
