/**
 * One leased task's bookkeeping from lease to outcome: its logger, its lease heartbeat, the thread
 * running it, the timers to clear and the promise the shutdown waits on.
 */
import type { LeasedTask, Queue } from '../lib/queue/types';
import type { GiveUpReason } from './events';
import { Heartbeat } from './lease';
import type { Logger } from './logger';
import type { JobRequest, TaskThread } from './pool';

/** A slot's job in a task thread: the thread's reports about it lead back to the slot. */
export interface SlotJob extends JobRequest {
  readonly slot: Slot;
}

export interface SlotOptions {
  readonly task: LeasedTask;
  readonly name?: string;
  readonly run?: string;
  /** The worker's logger; the slot's own is a child of it. */
  readonly log: Logger;
  readonly queue: Queue;
  readonly leaseSeconds: number;
  /** The queue refused a renewal. */
  readonly onLeaseLost: (slot: Slot) => void;
  readonly onFinish: (slot: Slot) => void;
}

/** A slot for a task just leased; its heartbeat is not started yet. */
export class Slot {
  readonly leased: LeasedTask;
  /** `module.name`, when the message named a task. */
  readonly name?: string;
  /** The run the message names (`run.id` of its envelope), if any. */
  readonly run?: string;
  /** Carries the task id, name and attempt on every line. */
  readonly log: Logger;
  readonly heartbeat: Heartbeat;
  /** The thread holding the task (running it, or sent ahead to it) and its job there. */
  thread?: TaskThread<SlotJob>;
  job?: SlotJob;
  /** Why the worker aborted the task, if it did (the first reason wins). */
  givenUp?: GiveUpReason;
  readonly timers: NodeJS.Timeout[] = [];
  /** Set once an outcome is being applied. */
  concluded = false;
  startedAt?: number;
  private done = false;
  /** Made only when someone waits (shutdown): most slots finish unwatched. */
  private finishedPromise: Promise<void> | undefined;
  private resolveFinished: (() => void) | undefined;

  constructor(private readonly options: SlotOptions) {
    const { task, name } = options;
    this.leased = task;
    this.name = name;
    this.run = options.run;
    this.log = options.log.child(
      name ? { taskId: task.id, task: name, attempt: task.attempt } : { taskId: task.id, attempt: task.attempt },
    );
    this.heartbeat = new Heartbeat({
      queue: options.queue,
      task,
      leaseSeconds: options.leaseSeconds,
      log: this.log,
      onLost: () => options.onLeaseLost(this),
    });
  }

  /** Resolves once the slot is finished. */
  get finished(): Promise<void> {
    if (this.done) return Promise.resolve();
    return (this.finishedPromise ??= new Promise<void>((resolve) => (this.resolveFinished = resolve)));
  }

  /** Clears its timers and resolves `finished`; then calls the `onFinish` it was opened with. */
  finish(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.done = true;
    this.resolveFinished?.();
    this.options.onFinish(this);
  }
}
