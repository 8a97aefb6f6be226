/**
 * The messages between the worker's main thread and a task thread (worker/thread.ts). A thread
 * runs its jobs one at a time, in the order they were sent, and may hold a few more than the one
 * it runs (prefetch: it then never sleeps between short tasks waiting for the next one). Every job
 * has a number, unique within its thread, that its log lines and its answer carry.
 */

/** What the thread needs to load the same tasks as the main thread. */
export interface ThreadData {
  /** Absolute path of the `--tasks` module; undefined: the project's tasks/index.ts, built in. */
  readonly tasksModule?: string;
  /** The `cloudpath` setting: storage for tasks whose message has no `cloudpath` argument. */
  readonly defaultCloudpath: string;
  /** pino level name for the task's `context.log`. */
  readonly logLevel: string;
}

export interface ThreadJob {
  readonly id: number;
  readonly body: string;
  readonly taskId: string;
  readonly attempt: number;
}

export type ToThread =
  /** Jobs to run after those the thread already holds. */
  | { readonly type: 'run'; readonly jobs: readonly ThreadJob[] }
  /** Aborts the job's `context.signal` with an error of this name and message, if it is running. */
  | { readonly type: 'abort'; readonly id: number; readonly name: string; readonly message: string }
  /** Hand back every job not started yet; the thread answers `cancelled`. */
  | { readonly type: 'cancel' };

/** A thrown value, as it crosses the thread boundary. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** A `PermanentError` (lib/task.ts): do not retry. */
  readonly permanent: boolean;
}

export type FromThread =
  /** The task module is loaded: the thread takes jobs. */
  | { readonly type: 'ready' }
  /** One pino JSON line written by the job's logger (numeric `level`, `message`). */
  | { readonly type: 'log'; readonly id: number; readonly line: string }
  /**
   * The job returned or threw after `ms` on the thread; the thread starts its next job (if it holds
   * one) right after sending this.
   */
  | { readonly type: 'done'; readonly id: number; readonly ms: number; readonly error?: ThreadError }
  /** The jobs the thread had not started, handed back (an answer to `cancel`). */
  | { readonly type: 'cancelled'; readonly ids: readonly number[] };

export function toThreadError(error: unknown, permanent: boolean): ThreadError {
  if (error instanceof Error) {
    return { name: error.name || 'Error', message: error.message, stack: error.stack, permanent };
  }
  return { name: 'TaskError', message: `the task threw a non-Error value: ${String(error)}`, permanent };
}
