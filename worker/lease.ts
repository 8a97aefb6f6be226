/**
 * The lease heartbeat: while a task runs, its lease is renewed every third of the lease, so a task
 * may run many times longer than the lease (`leaseSeconds`) and still run once. Renewals are chained (one at
 * a time), and every renewal's new handle is kept, since the file queue renames the task file.
 *
 * Backends may cap a lease (SQS: 12 h after the receive, `LeasedTask.leaseCeilingAt`); the
 * heartbeat warns as the cap nears and says clearly when the task will become visible again.
 */
import { QueueError } from '../lib/queue/errors';
import type { LeasedTask, Queue } from '../lib/queue/types';
import { MINUTE, SECOND } from './backoff';
import type { Logger } from './logger';

export interface HeartbeatOptions {
  readonly queue: Queue;
  readonly task: LeasedTask;
  /** Lease length asked for on every renewal. */
  readonly leaseSeconds: number;
  readonly log: Logger;
  /** Called once when the queue says the lease is gone: someone else may be running the task now. */
  readonly onLost: (error: QueueError) => void;
}

/** Warn this long before a capped lease runs out: an hour, or three leases if that is longer. */
const ceilingWarningMs = (leaseSeconds: number) => Math.max(60 * MINUTE, 3 * leaseSeconds * SECOND);

export class Heartbeat {
  private current: LeasedTask;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private warnedCeiling = false;
  private refused = false;
  readonly intervalMs: number;

  constructor(private readonly options: HeartbeatOptions) {
    this.current = options.task;
    this.intervalMs = Math.max(100, (options.leaseSeconds * SECOND) / 3);
  }

  /** The latest lease (the handle of the last successful renewal). */
  get task(): LeasedTask {
    return this.current;
  }

  /**
   * The lease may be gone: a renewal was refused, or the lease ran out before an outcome (renewals
   * kept failing, or the backend's ceiling passed). Another worker may be running the task.
   */
  get lost(): boolean {
    return this.refused || Date.now() >= this.current.leaseExpiresAt;
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
    if (this.stopped) return;
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
    this.warnNearCeiling();
    try {
      // Kept even when stop() came meanwhile: the old handle is no longer valid.
      this.current = await queue.renew(this.current, leaseSeconds);
      log.debug({ leaseExpiresAt: new Date(this.current.leaseExpiresAt).toISOString() }, 'lease renewed');
    } catch (error) {
      if (error instanceof QueueError && error.code === 'LeaseLost') {
        this.stopped = true;
        this.refused = true;
        this.options.onLost(error);
        return;
      }
      if (error instanceof QueueError && error.code === 'LeaseLimitReached') {
        this.stopped = true;
        log.error(
          { err: error },
          "the lease reached the queue's limit and cannot be renewed: " +
            'another worker may start this task while it still runs',
        );
        return;
      }
      // Transient (network, throttling): the lease still has two thirds left; the next beat retries.
      log.warn(
        { err: error, leaseExpiresAt: new Date(this.current.leaseExpiresAt).toISOString() },
        'lease renewal failed; retrying at the next heartbeat',
      );
      return;
    }
    const ceiling = this.current.leaseCeilingAt;
    if (ceiling !== undefined && this.current.leaseExpiresAt >= ceiling) {
      // Clamped: this was the last extension the backend allows.
      this.stopped = true;
      log.error(
        { leaseCeilingAt: new Date(ceiling).toISOString() },
        `the lease cannot be extended past ${new Date(ceiling).toISOString()} ` +
          "(the queue's limit, SQS: 12 h after receipt): if the task still runs then, " +
          'another worker will start it again; split it into smaller tasks',
      );
    }
  }

  private warnNearCeiling(): void {
    const ceiling = this.current.leaseCeilingAt;
    if (ceiling === undefined || this.warnedCeiling) return;
    const leftMs = ceiling - Date.now();
    if (leftMs > ceilingWarningMs(this.options.leaseSeconds)) return;
    this.warnedCeiling = true;
    this.options.log.warn(
      { leaseCeilingAt: new Date(ceiling).toISOString(), minutesLeft: Math.round(leftMs / MINUTE) },
      `task nears the queue's lease limit (SQS: 12 h after receipt): ${Math.round(leftMs / MINUTE)} min left ` +
        'before another worker may start it again; split long tasks into smaller ones',
    );
  }
}
