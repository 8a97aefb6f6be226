/**
 * The outcome policy: what the worker does with a task once it knows what happened to it. Pure
 * (no queue, no clock, no randomness unless passed in), so README's "What happens to a task" table
 * is tested row by row against it (test/worker.outcome.test.ts). The Worker applies the action.
 */

/** What happened to one leased task. */
export type Happening =
  /** The task function returned. */
  | { readonly kind: 'returned' }
  /** It threw (or rejected); `permanent`: a `PermanentError`, retrying cannot help. */
  | { readonly kind: 'threw'; readonly errorName: string; readonly permanent: boolean }
  /** It ran past the task timeout (`taskTimeoutSeconds`) and was aborted, then terminated if it did not return. */
  | { readonly kind: 'timed-out'; readonly timeoutSeconds: number }
  /** Its thread ran out of heap (`taskHeapMb`) and was ended. */
  | { readonly kind: 'out-of-memory'; readonly heapMb: number }
  /** Its thread died some other way (an uncaught error outside the task's promise, `process.exit`). */
  | { readonly kind: 'thread-crashed'; readonly errorName: string }
  /** The body is not a task message. */
  | { readonly kind: 'malformed' }
  /** It names a task this worker does not register. */
  | { readonly kind: 'unknown-task' }
  /** Its parameters fail the task's schema (or its cloudpath cannot be opened). */
  | { readonly kind: 'invalid-params' }
  /** Leased more than `maxAttempts` times without an outcome: its workers were killed. */
  | { readonly kind: 'too-many-leases' }
  /** Shutdown: still running when the grace period ended (or a second signal came); aborted or terminated. */
  | { readonly kind: 'stopped' }
  /** Shutdown: leased but not started. */
  | { readonly kind: 'unstarted-at-stop' };

export interface Situation {
  readonly happening: Happening;
  readonly attempt: number;
  /**
   * The lease was refused at a renewal, or ran out before the outcome (renewals failing, or a
   * backend ceiling such as SQS's 12 h): another worker may hold the task now.
   */
  readonly leaseLost: boolean;
}

export interface PolicyConfig {
  readonly maxAttempts: number;
  /** Seconds before a task that failed on `attempt` is visible again (jittered in production). */
  readonly retryDelaySeconds: (attempt: number) => number;
}

export type Action =
  | { readonly kind: 'delete' }
  | { readonly kind: 'release'; readonly delaySeconds: number }
  | { readonly kind: 'dead-letter'; readonly reason: string; readonly withStack: boolean }
  /** Touch nothing: the lease is gone, whoever holds the task now decides. */
  | { readonly kind: 'leave' };

/** The outcome as events, metrics and the summary name it. */
export type TaskOutcome =
  | 'succeeded'
  | 'retried'
  | 'dead-lettered'
  | 'released'
  /** The task returned, but its lease was lost first: it may run again elsewhere. */
  | 'completed-lease-lost'
  /** The lease was lost and the task did not complete. */
  | 'lease-lost';

export interface Decision {
  readonly action: Action;
  readonly outcome: TaskOutcome;
  /** A failed attempt of the task (counted in `failed` and the duration histogram). */
  readonly failed: boolean;
  readonly level: 'info' | 'warn' | 'error';
  /** The outcome log line. */
  readonly message: string;
}

/** Dead-letter reasons the worker itself assigns (a thrown error's reason is its class name). */
export const REASONS = {
  malformed: 'MalformedTask',
  'unknown-task': 'UnknownTask',
  'invalid-params': 'InvalidParams',
  'too-many-leases': 'TooManyAttempts',
  'timed-out': 'TaskTimeout',
  'out-of-memory': 'OutOfMemory',
} as const;

/** The common case, one object for every task (decide runs once per task). */
const SUCCEEDED: Decision = Object.freeze({
  action: Object.freeze({ kind: 'delete' }),
  outcome: 'succeeded',
  failed: false,
  level: 'info',
  message: 'task succeeded',
});

function neverRun(reason: string): Decision {
  return {
    action: { kind: 'dead-letter', reason, withStack: false },
    outcome: 'dead-lettered',
    failed: false,
    level: 'error',
    message: `task dead-lettered without running (${reason})`,
  };
}

export function decide(situation: Situation, config: PolicyConfig): Decision {
  const { happening, attempt, leaseLost } = situation;
  const { maxAttempts } = config;

  switch (happening.kind) {
    case 'malformed':
    case 'unknown-task':
    case 'invalid-params':
    case 'too-many-leases':
      return neverRun(REASONS[happening.kind]);
    case 'returned':
      if (leaseLost) {
        // Delete anyway: if nobody re-leased it, this saves a second run; if somebody did, the
        // queue refuses (file queue) or ignores (SQS) the stale handle. Never report it as a success.
        return {
          action: { kind: 'delete' },
          outcome: 'completed-lease-lost',
          failed: false,
          level: 'error',
          message: 'task completed after its lease was lost; it may run again',
        };
      }
      return SUCCEEDED;
    case 'unstarted-at-stop':
      return {
        action: { kind: 'release', delaySeconds: 0 },
        outcome: 'released',
        failed: false,
        level: 'info',
        message: 'task released unstarted: the worker is stopping',
      };
    default:
      break;
  }

  // Everything below ended without the task completing.
  if (leaseLost) {
    return {
      action: { kind: 'leave' },
      outcome: 'lease-lost',
      failed: happening.kind !== 'stopped',
      level: 'error',
      message: `task ended (${describe(happening)}) after its lease was lost; left to the worker that holds it now`,
    };
  }
  if (happening.kind === 'stopped') {
    return {
      action: { kind: 'release', delaySeconds: 0 },
      outcome: 'released',
      failed: false,
      level: 'warn',
      message: 'task aborted and released for another worker: the worker is stopping',
    };
  }

  const reason =
    happening.kind === 'threw' || happening.kind === 'thread-crashed' ? happening.errorName : REASONS[happening.kind];
  const what = describe(happening);
  if (happening.kind === 'threw' && happening.permanent) {
    return {
      action: { kind: 'dead-letter', reason, withStack: true },
      outcome: 'dead-lettered',
      failed: true,
      level: 'error',
      message:
        `task failed permanently (${what}, attempt ${attempt} of ${maxAttempts}); ` + 'dead-lettered without retrying',
    };
  }
  if (attempt < maxAttempts) {
    const delaySeconds = config.retryDelaySeconds(attempt);
    return {
      action: { kind: 'release', delaySeconds },
      outcome: 'retried',
      failed: true,
      level: 'warn',
      message: `task failed (${what}, attempt ${attempt} of ${maxAttempts}); retrying in ${delaySeconds} s`,
    };
  }
  return {
    action: {
      kind: 'dead-letter',
      reason,
      withStack: happening.kind === 'threw' || happening.kind === 'thread-crashed',
    },
    outcome: 'dead-lettered',
    failed: true,
    level: 'error',
    message: `task failed on its last attempt (${what}, attempt ${attempt} of ${maxAttempts}); dead-lettered`,
  };
}

function describe(happening: Happening): string {
  switch (happening.kind) {
    case 'threw':
      return `threw ${happening.errorName}`;
    case 'timed-out':
      return `ran past its ${happening.timeoutSeconds} s timeout`;
    case 'out-of-memory':
      return `ran out of memory: its thread's heap limit is ${happening.heapMb} MB`;
    case 'thread-crashed':
      return `its thread exited: ${happening.errorName}`;
    case 'stopped':
      return 'stopped at shutdown';
    default:
      return happening.kind;
  }
}
