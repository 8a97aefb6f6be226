/**
 * The lease heartbeat: while a task runs, its lease is renewed every third of the lease, so a task
 * may run many times longer than TQ_LEASE_SECONDS and still run once. Renewals are chained (one at
 * a time), and every renewal's new handle is kept, since the file queue renames the task file.
 */
import { QueueError } from '../lib/queue/errors';
import type { LeasedTask, Queue } from '../lib/queue/types';
import { SECOND } from './backoff';
import type { Logger } from './logger';

/** SQS cannot keep a message invisible for more than 12 hours after it was received. */
export const SQS_LEASE_CEILING_MS = 12 * 60 * 60 * SECOND;

export interface HeartbeatOptions {
  readonly queue: Queue;
  readonly task: LeasedTask;
  /** Lease length asked for on every renewal. */
  readonly leaseSeconds: number;
  /** When the task was leased (epoch ms); the ceiling counts from here. */
  readonly leasedAt: number;
  /** The backend's hard limit on a lease counted from `leasedAt`, if it has one (SQS: 12 h). */
  readonly ceilingMs?: number;
  readonly log: Logger;
  /** Called once when the queue says the lease is gone: someone else may be running the task now. */
  readonly onLost: (error: QueueError) => void;
}

/** How close to the ceiling (in lease lengths, at least an hour) the worker starts warning. */
const CEILING_WARNING_MS = (leaseSeconds: number) => Math.max(60 * 60 * SECOND, 3 * leaseSeconds * SECOND);

export class Heartbeat {
  private current: LeasedTask;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private warnedCeiling = false;
  private reachedCeiling = false;
  readonly intervalMs: number;

  constructor(private readonly options: HeartbeatOptions) {
    this.current = options.task;
    this.intervalMs = Math.max(100, (options.leaseSeconds * SECOND) / 3);
  }

  /** The latest lease (the handle of the last successful renewal). */
  get task(): LeasedTask {
    return this.current;
  }

  start(): void {
    this.schedule();
  }

  /** Stops renewing; resolves with the latest lease once any renewal under way has settled. */
  async stop(): Promise<LeasedTask> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
    return this.current;
  }

  private schedule(): void {
    if (this.stopped || this.reachedCeiling) return;
    this.timer = setTimeout(() => {
      this.inFlight = this.renew().finally(() => {
        this.inFlight = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    // A heartbeat alone must not keep a finished process alive.
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    const { queue, leaseSeconds, log } = this.options;
    const seconds = this.secondsAllowed(leaseSeconds);
    if (seconds <= 0) return;
    try {
      // Kept even when stop() came meanwhile: the old handle is no longer valid.
      this.current = await queue.renew(this.current, seconds);
    } catch (error) {
      if (error instanceof QueueError && error.code === 'LeaseLost') {
        this.stopped = true;
        this.options.onLost(error);
        return;
      }
      // Transient (network, throttling): the lease still has two thirds left; the next beat retries.
      log.warn({ err: error, leaseExpiresAt: new Date(this.current.leaseExpiresAt).toISOString() }, 'lease renewal failed; retrying at the next heartbeat');
    }
  }

  /** The lease to ask for now: the full lease, or what the backend's ceiling still allows. */
  private secondsAllowed(leaseSeconds: number): number {
    const { ceilingMs, leasedAt, log } = this.options;
    if (ceilingMs === undefined) return leaseSeconds;
    const elapsed = Date.now() - leasedAt;
    const left = ceilingMs - elapsed;
    if (!this.warnedCeiling && left <= CEILING_WARNING_MS(leaseSeconds)) {
      this.warnedCeiling = true;
      log.warn(
        { runningSeconds: Math.round(elapsed / SECOND), ceilingSeconds: ceilingMs / SECOND },
        `task has run for ${formatDuration(elapsed)}; SQS cannot extend a lease past ${formatDuration(ceilingMs)} after receipt, so after that another worker will start it again: split the task into smaller ones`,
      );
    }
    const seconds = Math.floor(left / SECOND) - 1;
    if (seconds < leaseSeconds) {
      this.reachedCeiling = true;
      log.error(
        { runningSeconds: Math.round(elapsed / SECOND), lastLeaseSeconds: Math.max(0, seconds) },
        `task reached SQS's ${formatDuration(ceilingMs)} lease ceiling: its lease is extended one last time and will then expire while it still runs`,
      );
    }
    return Math.max(0, seconds);
  }
}

function formatDuration(ms: number): string {
  const minutes = Math.round(ms / (60 * SECOND));
  return minutes >= 60 ? `${(minutes / 60).toFixed(minutes % 60 === 0 ? 0 : 1)} h` : `${minutes} min`;
}
