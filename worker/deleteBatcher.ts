/**
 * Deletes completed tasks in batches where the backend can (SQS: DeleteMessageBatch, Pub/Sub: one
 * acknowledge for many): a delete waits at most `lingerMs` for others to join it, a full batch goes
 * at once. Each task's promise settles with its own entry's result, so one refused receipt handle
 * fails that task alone; a failed call fails its whole batch (each task's retry then decides).
 */
import type { LeasedTask, Queue } from '../lib/queue/types';

/** SQS takes 10 entries per DeleteMessageBatch. */
export const DELETE_BATCH = 10;
/** How long a delete may wait for others: a few ms against round trips of tens. */
export const DELETE_LINGER_MS = 5;

interface Pending {
  readonly task: LeasedTask;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class DeleteBatcher {
  private waiting: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly queue: Queue,
    private readonly lingerMs = DELETE_LINGER_MS,
  ) {}

  /** True when the backend deletes in batches; otherwise call `queue.delete` directly. */
  static supports(queue: Queue): boolean {
    return typeof queue.deleteMany === 'function';
  }

  delete(task: LeasedTask): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ task, resolve, reject });
      if (this.waiting.length >= DELETE_BATCH) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
    });
  }

  /** Sends what is waiting now (shutdown does not wait for the linger). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length > 0) void this.send(batch);
  }

  private async send(batch: Pending[]): Promise<void> {
    let results: Array<Error | undefined>;
    try {
      results = await this.queue.deleteMany!(batch.map((entry) => entry.task));
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    batch.forEach((entry, i) => {
      const error = results[i];
      if (error) entry.reject(error);
      else entry.resolve();
    });
  }
}
