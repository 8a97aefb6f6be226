/**
 * Runs a checked task in a task thread and turns what the thread reports into a happening for the
 * outcome policy; aborts a task (timeout, lost lease, shutdown) and terminates its thread if it
 * does not return a moment later.
 */
import { ABORT_REASONS, GiveUpReason, TaskStartedEvent } from './events';
import type { RunResult, ThreadPool } from './pool';
import { Failure, interpret, relayLog } from './results';
import type { Happening } from './outcome';
import type { Slot } from './slot';
import { SECOND } from './backoff';

export interface TaskRunnerOptions {
  readonly pool: ThreadPool;
  readonly taskTimeoutSeconds: number | undefined;
  readonly taskHeapMb: number;
  readonly terminateAfterAbortMs: number;
  readonly onStarted: (event: TaskStartedEvent) => void;
  /** Takes the task to its outcome once its thread has answered. */
  readonly conclude: (slot: Slot, happening: Happening, failure?: Failure) => Promise<void>;
}

export class TaskRunner {
  constructor(private readonly o: TaskRunnerOptions) {}

  async run(slot: Slot): Promise<void> {
    const { leased: task, log } = slot;
    const { pool } = this.o;
    const thread = pool.take();
    slot.thread = thread;
    slot.startedAt = Date.now();
    log.info('task started');
    this.o.onStarted({ taskId: task.id, task: slot.name!, attempt: task.attempt });
    const timeout = this.o.taskTimeoutSeconds;
    if (timeout !== undefined) slot.timers.push(setTimeout(() => this.giveUp(slot, 'timeout'), timeout * SECOND));
    let result: RunResult;
    try {
      result = await thread.run({
        body: task.body,
        taskId: task.id,
        attempt: task.attempt,
        onLog: (line) => relayLog(log, line),
      });
    } finally {
      slot.thread = undefined;
      pool.give(thread);
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
            ? `the task ran longer than TQ_TASK_TIMEOUT_SECONDS=${this.o.taskTimeoutSeconds} s`
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
