/**
 * The worker's pure helpers around an outcome: what a thread's result means (`interpret`), the
 * failure record and the outcome log line's fields, relaying a thread's log line, and the
 * completion call retried on transient queue errors.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Level } from 'pino';
import { QueueError } from '../lib/queue/errors';
import type { FailureRecord, LeasedTask } from '../lib/queue/types';
import { Backoff, SECOND } from './backoff';
import type { GiveUpReason } from './events';
import type { Logger } from './logger';
import type { Decision, Happening } from './outcome';
import type { RunResult } from './pool';
import { envName } from '../lib/settings/table';

/** Something the worker can describe in a failure record and a log line. */
export interface Failure {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

const RETURNED: [Happening, undefined] = [Object.freeze({ kind: 'returned' }), undefined];

/** What a thread's result means, given whether (and why) the worker aborted the task. */
export function interpret(
  result: Exclude<RunResult, { kind: 'unstarted' }>,
  givenUp: GiveUpReason | undefined,
  limits: { readonly taskTimeoutSeconds?: number; readonly taskHeapMb: number },
): [Happening, Failure | undefined] {
  if (result.kind === 'returned') return RETURNED;
  const timeout = limits.taskTimeoutSeconds ?? 0;
  switch (givenUp) {
    case 'stopping':
    case 'lease-lost':
      return [{ kind: 'stopped' }, undefined];
    case 'timeout':
      return [
        { kind: 'timed-out', timeoutSeconds: timeout },
        {
          name: 'TaskTimeout',
          message:
            `the task ran longer than ${envName('taskTimeoutSeconds')}=${timeout} s; it was aborted` +
            (result.kind === 'terminated' ? ' and, as it did not return, terminated' : ''),
        },
      ];
    default:
      break;
  }
  switch (result.kind) {
    case 'threw':
      return [{ kind: 'threw', errorName: result.error.name, permanent: result.error.permanent }, result.error];
    case 'out-of-memory':
      return [
        { kind: 'out-of-memory', heapMb: limits.taskHeapMb },
        {
          name: 'OutOfMemory',
          message:
            `the task ran out of memory: its thread's heap limit is ${limits.taskHeapMb} MB ` +
            `(${envName('taskHeapMb')}); ` +
            `raise it, or lower ${envName('concurrency')} so that each task gets more`,
        },
      ];
    case 'crashed':
      return [{ kind: 'thread-crashed', errorName: result.error.name }, result.error];
    case 'terminated':
      return [
        { kind: 'thread-crashed', errorName: 'ThreadTerminated' },
        { name: 'ThreadTerminated', message: "the task's thread was terminated" },
      ];
  }
}

export function failureRecord(
  task: LeasedTask,
  reason: string,
  failure: Failure | undefined,
  withStack: boolean,
  workerId: string,
): FailureRecord {
  return {
    taskId: task.id,
    body: task.body,
    reason,
    message: failure?.message ?? reason,
    stack: withStack ? failure?.stack : undefined,
    attempts: task.attempt,
    worker: workerId,
    failedAt: new Date().toISOString(),
  };
}

/** The fields of a task's outcome log line. */
export function outcomeFields(
  decision: Decision,
  durationMs: number,
  maxAttempts: number,
  failure?: Failure,
): Record<string, unknown> {
  const { action } = decision;
  const fields: Record<string, unknown> = { durationMs, outcome: decision.outcome };
  if (action.kind === 'dead-letter') fields.reason = action.reason;
  if (action.kind === 'release' && action.delaySeconds > 0) fields.retryDelaySeconds = action.delaySeconds;
  if (failure) {
    // A stack only for what the task threw; for the worker's own reasons the message says it all.
    if (failure.stack) fields.err = asError(failure);
    else fields.error = failure.message;
  }
  if (decision.outcome === 'retried' || decision.failed) fields.maxAttempts = maxAttempts;
  return fields;
}

/**
 * Runs a completion call, retrying transient queue errors a few times (the lease still holds
 * meanwhile), and not at all once `stopRetrying()` (shutdown's deadline is set).
 */
export async function settleWithRetries(
  what: string,
  log: Logger,
  call: () => Promise<void>,
  stopRetrying: () => boolean,
): Promise<void> {
  let backoff: Backoff | undefined; // made on the first failure: most calls succeed at once
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retryable = !(error instanceof QueueError) || error.transient;
      if (!retryable || attempt >= 5 || stopRetrying()) throw error;
      backoff ??= new Backoff({ baseMs: 200, capMs: 5 * SECOND });
      const waitMs = backoff.next();
      log.warn({ err: error, retryInMs: Math.round(waitMs) }, `queue error on ${what}; retrying`);
      await delay(waitMs, undefined, { ref: false });
    }
  }
}

/** Re-logs a line the task's logger wrote in its thread through the task's logger here. */
export function relayLog(log: Logger, line: string): void {
  const { level, message, ...fields } = JSON.parse(line) as { level?: number; message?: string } & Record<
    string,
    unknown
  >;
  const label = (typeof level === 'number' && (log.levels.labels[level] as Level | undefined)) || 'info';
  log[label](fields, message);
}

function asError(failure: Failure): Error {
  const error = new Error(failure.message);
  error.name = failure.name;
  if (failure.stack) error.stack = failure.stack;
  return error;
}
