/** Typed queue errors: each says what went wrong and what to do about it. */
import { FixableError } from '../errors';

/**
 * Every code, and whether an error with it is worth retrying with backoff (the backend may come
 * back) or permanent (configuration, input or a lost lease: retrying cannot help). A new code must
 * be decided here; `classify.ts` maps errno values and SQS errors onto these codes.
 */
export const TRANSIENT_BY_CODE = {
  InvalidQueueUrl: false,
  /** The queue path cannot be a queue: a regular file, a virtual file system such as /proc, a symlink loop. */
  InvalidQueuePath: false,
  QueueNotFound: false,
  NoCredentials: false,
  PermissionDenied: false,
  MessageTooLarge: false,
  /** A message the caller handed to insert that the backend cannot store (an unusable or duplicate id). */
  InvalidMessage: false,
  Unreachable: true,
  LeaseLost: false,
  LeaseLimitReached: false,
  UnsupportedOperation: false,
  BackendError: true,
} as const satisfies Record<string, boolean>;

export type QueueErrorCode = keyof typeof TRANSIENT_BY_CODE;

export class QueueError extends FixableError<QueueErrorCode> {
  override readonly name = 'QueueError';

  /** Worth retrying with backoff (the backend may come back), as opposed to a configuration problem. */
  get transient(): boolean {
    return TRANSIENT_BY_CODE[this.code];
  }
}

export type TaskMessageErrorReason = 'MalformedTask' | 'UnknownTask' | 'InvalidParams';

/** A message body that cannot become a task run: dead-lettered by the worker, never a crash. */
export class TaskMessageError extends Error {
  override readonly name = 'TaskMessageError';

  constructor(
    readonly reason: TaskMessageErrorReason,
    message: string,
  ) {
    super(message);
  }
}
