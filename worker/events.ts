/** What an embedded Worker tells its caller: events, the summary, its state. */
import type { TaskOutcome } from './outcome';

export type { TaskOutcome } from './outcome';

export interface TaskStartedEvent {
  readonly taskId: string;
  /** `module.name` */
  readonly task: string;
  readonly attempt: number;
}

export interface TaskEndedEvent {
  readonly taskId: string;
  /** `module.name`, when the message named a task. */
  readonly task?: string;
  readonly attempt: number;
  readonly outcome: TaskOutcome;
  /** From the start of the run to the outcome; 0 for messages that never ran. */
  readonly durationMs: number;
  /** A failed attempt: the task threw, timed out, ran out of memory or crashed its thread. */
  readonly failed: boolean;
  /**
   * Dead-letter reason (`MalformedTask`, `UnknownTask`, `InvalidParams`, `TooManyAttempts`, `TaskTimeout`,
   * `OutOfMemory`, or the error's name).
   */
  readonly reason?: string;
  readonly error?: unknown;
  /** For `retried`: seconds until the task is visible again. */
  readonly retryDelaySeconds?: number;
}

export interface WorkerSummary {
  readonly succeeded: number;
  /** Failed attempts (each retry counts). */
  readonly failed: number;
  readonly retried: number;
  readonly deadLettered: number;
  /** Released unfinished at shutdown. */
  readonly released: number;
  /** Lease lost, task not completed. */
  readonly leaseLost: number;
  /** Completed after the lease was lost: may run again elsewhere. */
  readonly completedAfterLeaseLost: number;
  readonly durationSeconds: number;
  /**
   * CPU time (user + system) of this process, all threads, while the worker ran: divided by
   * `durationSeconds`, how many cores the worker kept busy.
   */
  readonly cpuSeconds: number;
  /**
   * CPU time of the main thread alone (queue, leases, outcomes, logging): near `durationSeconds`,
   * the main thread is what limits how many short tasks one worker completes per second.
   */
  readonly mainThreadCpuSeconds: number;
}

export interface WorkerEvents {
  /** Every task thread has loaded the task module (leasing began before: tasks leased meanwhile wait). */
  threadsReady: [];
  taskStarted: [TaskStartedEvent];
  taskEnded: [TaskEndedEvent];
  /** `immediate`: a second stop (signal) that skips the rest of the grace period. */
  stopping: [{ readonly immediate: boolean }];
  stopped: [WorkerSummary];
}

export type WorkerState = 'new' | 'running' | 'stopping' | 'stopped';

/** The names of the abort reasons a task's `context.signal` carries. */
export const ABORT_REASONS = {
  stopping: 'WorkerStoppingError',
  'lease-lost': 'LeaseLostError',
  timeout: 'TaskTimeoutError',
} as const;
export type GiveUpReason = keyof typeof ABORT_REASONS;
