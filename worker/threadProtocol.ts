/**
 * The messages between the worker's main thread and a task thread (worker/thread.ts). One task at
 * a time per thread, so no message carries a job id.
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

export type ToThread =
  | { readonly type: 'run'; readonly body: string; readonly taskId: string; readonly attempt: number }
  /** Aborts the running task's `context.signal` with an error of this name and message. */
  | { readonly type: 'abort'; readonly name: string; readonly message: string };

/** A thrown value, as it crosses the thread boundary. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** A `PermanentError` (lib/task.ts): do not retry. */
  readonly permanent: boolean;
}

export type FromThread =
  /** The task module is loaded: the thread takes tasks. */
  | { readonly type: 'ready' }
  /** One pino JSON line written by the task's logger (numeric `level`, `message`). */
  | { readonly type: 'log'; readonly line: string }
  | { readonly type: 'done'; readonly error?: ThreadError };

export function toThreadError(error: unknown, permanent: boolean): ThreadError {
  if (error instanceof Error) {
    return { name: error.name || 'Error', message: error.message, stack: error.stack, permanent };
  }
  return { name: 'TaskError', message: `the task threw a non-Error value: ${String(error)}`, permanent };
}
