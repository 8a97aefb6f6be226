/**
 * The lease loop: while the worker runs, keep the worker holding as many tasks as it has threads
 * plus the prefetch the task runner allows (tasks it can start within half a lease), leasing at
 * most `MAX_LEASE_BATCH` per call and, while the queue hands out full batches, with up to
 * `MAX_LEASES_IN_FLIGHT` calls at once (round trips of tens of ms then overlap). Backs off while
 * the queue is empty or unreachable, and ends on stop or, with `exitWhenEmpty`, on an empty queue.
 * A lease call still under way at stop hands what it brings straight back.
 */
import { QueueError } from '../lib/queue/errors';
import type { LeasedTask, Queue } from '../lib/queue/types';
import { Backoff, SECOND } from './backoff';
import type { Logger } from './logger';
import type { ResolvedWorkerOptions } from './options';
import type { Happening } from './outcome';
import type { Wakeup } from './wakeup';

/** SQS hands out at most 10 messages per receive. */
export const MAX_LEASE_BATCH = 10;
/** Lease calls at once while the queue has work. */
export const MAX_LEASES_IN_FLIGHT = 3;

export interface LeaseLoopOptions {
  readonly o: ResolvedWorkerOptions;
  readonly queue: Queue;
  readonly log: Logger;
  /** Aborted by `stop()`: ends the loop, a long poll and idle waits at once. */
  readonly signal: AbortSignal;
  /** Notified when a slot frees up or the worker stops; the loop notifies it when a lease call ends. */
  readonly wakeOnSlot: Wakeup;
  /** Notified when the worker stops. */
  readonly wakeOnStop: Wakeup;
  /** Tasks leased by this worker right now (running, waiting for a thread, or being concluded). */
  readonly inFlight: () => number;
  /** How many more tasks the worker wants to hold now (threads + prefetch − tasks running or waiting). */
  readonly wanted: () => number;
  /** The fewest tasks worth a lease call now (a full batch while plenty are held, else 1). */
  readonly leaseAtLeast: () => number;
  /** Takes a leased task through to its outcome; `decided`: the outcome is known without running it. */
  readonly launch: (task: LeasedTask, decided?: Happening) => void;
  /** Each lease call, so that shutdown can wait for the ones under way. */
  readonly track: (call: Promise<unknown>) => void;
}

interface LeaseResult {
  readonly count: number;
  readonly leased: number;
  readonly error?: unknown;
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
  const results: LeaseResult[] = [];
  let calls = 0;
  let requested = 0;
  let lastFull = false;

  const startLease = (count: number) => {
    calls++;
    requested += count;
    const ended = (result: LeaseResult) => {
      calls--;
      requested -= count;
      results.push(result);
      wakeOnSlot.notify();
    };
    const call = queue.lease({ count, seconds: o.leaseSeconds, waitSeconds: o.pollWaitSeconds, signal }).then(
      (leased) => {
        // Leased while stop() came: hand them straight back.
        for (const task of leased) launch(task, stopping() ? { kind: 'unstarted-at-stop' } : undefined);
        ended({ count, leased: leased.length });
      },
      (error: unknown) => ended({ count, leased: 0, error }),
    );
    options.track(call);
  };

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

  /** Resolves true when the loop should end (the queue is empty and `exitWhenEmpty`). */
  const onResult = async (result: LeaseResult): Promise<boolean> => {
    lastFull = result.error === undefined && result.leased === result.count;
    if (result.error !== undefined) {
      if (!stopping()) await onQueueError(result.error, 'leasing tasks');
      return false;
    }
    unreachable.reset();
    if (result.leased > 0) {
      idle.reset();
      return false;
    }
    if (calls > 0) return false; // another call is still out: decide on its answer
    if (o.exitWhenEmpty && inFlight() === 0) {
      let empty: boolean;
      try {
        empty = await queue.isEmpty();
      } catch (error) {
        await onQueueError(error, 'checking whether the queue is empty');
        return false;
      }
      if (empty) {
        options.log.info('queue is empty: exiting (--exit-when-empty)');
        return true;
      }
    }
    // A long poll already waited; otherwise back off, waking early when one of ours finishes.
    if (o.pollWaitSeconds === 0) await wakeOnSlot.wait(idle.next());
    return false;
  };

  /** How many tasks to lease now: 0 while the worker holds enough or enough calls are out. */
  const leaseNow = (): number => {
    const room = options.wanted() - requested;
    if (room <= 0 || room < options.leaseAtLeast() || calls >= (lastFull ? MAX_LEASES_IN_FLIGHT : 1)) return 0;
    return Math.min(room, MAX_LEASE_BATCH);
  };
  const somethingToDo = () => results.length > 0 || stopping() || leaseNow() > 0;

  while (!stopping()) {
    const result = results.shift();
    if (result) {
      if (await onResult(result)) return;
      continue;
    }
    const count = leaseNow();
    if (count > 0) {
      startLease(count);
      continue;
    }
    await wakeOnSlot.wait(undefined, somethingToDo);
  }
}
