/**
 * The lease loop: while the worker runs, lease as many tasks as there are free slots (at most
 * `MAX_LEASE_BATCH` per call) and launch them; wait for a slot when all are busy, back off while
 * the queue is empty or unreachable, and end on stop or, with `exitWhenEmpty`, on an empty queue.
 */
import { QueueError } from '../lib/queue/errors';
import type { LeasedTask, Queue } from '../lib/queue/types';
import { Backoff, SECOND } from './backoff';
import type { Logger } from './logger';
import type { ResolvedWorkerOptions } from './options';
import type { Happening } from './outcome';
import type { Wakeup } from './wakeup';

/** SQS hands out at most 10 messages per receive; more per call would only over-prefetch anyway. */
export const MAX_LEASE_BATCH = 10;

export interface LeaseLoopOptions {
  readonly o: ResolvedWorkerOptions;
  readonly queue: Queue;
  readonly log: Logger;
  /** Aborted by `stop()`: ends the loop, a long poll and idle waits at once. */
  readonly signal: AbortSignal;
  /** Notified when a slot frees up or the worker stops. */
  readonly wakeOnSlot: Wakeup;
  /** Notified when the worker stops. */
  readonly wakeOnStop: Wakeup;
  /** Tasks leased by this worker right now. */
  readonly inFlight: () => number;
  /** Takes a leased task through to its outcome; `decided`: the outcome is known without running it. */
  readonly launch: (task: LeasedTask, decided?: Happening) => void;
}

/**
 * Resolves when the worker stops or the queue is empty (`exitWhenEmpty`); rejects with the
 * queue's error when it refuses the worker for good.
 */
export async function leaseLoop(options: LeaseLoopOptions): Promise<void> {
  const { o, queue, signal, wakeOnSlot, inFlight, launch } = options;
  const idle = new Backoff(o.idleBackoff);
  const unreachable = new Backoff(o.errorBackoff);
  const stopping = () => signal.aborted;

  /** Transient errors back off and retry; anything the queue says is permanent ends the worker. */
  const onQueueError = async (error: unknown, doing: string): Promise<void> => {
    if (error instanceof QueueError && !error.transient) throw error;
    const waitMs = unreachable.next();
    options.log[error instanceof QueueError ? 'warn' : 'error'](
      { err: error, retryInMs: Math.round(waitMs), failures: unreachable.steps },
      `queue error while ${doing}; retrying in ${(waitMs / SECOND).toFixed(1)} s`,
    );
    await options.wakeOnStop.wait(waitMs);
  };

  while (!stopping()) {
    const free = o.concurrency - inFlight();
    if (free <= 0) {
      await wakeOnSlot.wait();
      continue;
    }
    let leased: LeasedTask[];
    try {
      leased = await queue.lease({
        count: Math.min(free, MAX_LEASE_BATCH),
        seconds: o.leaseSeconds,
        waitSeconds: o.pollWaitSeconds,
        signal,
      });
      unreachable.reset();
    } catch (error) {
      if (stopping()) break;
      await onQueueError(error, 'leasing tasks');
      continue;
    }
    if (stopping()) {
      // Leased while stop() came: hand them straight back.
      for (const task of leased) launch(task, { kind: 'unstarted-at-stop' });
      break;
    }
    if (leased.length > 0) {
      idle.reset();
      for (const task of leased) launch(task);
      continue;
    }
    if (o.exitWhenEmpty && inFlight() === 0) {
      let empty: boolean;
      try {
        empty = await queue.isEmpty();
      } catch (error) {
        await onQueueError(error, 'checking whether the queue is empty');
        continue;
      }
      if (empty) {
        options.log.info('queue is empty: exiting (--exit-when-empty)');
        return;
      }
    }
    // A long poll already waited; otherwise back off, waking early when one of ours finishes.
    if (o.pollWaitSeconds === 0) await wakeOnSlot.wait(idle.next());
  }
}
