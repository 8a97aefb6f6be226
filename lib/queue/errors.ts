/** Typed queue errors: each says what went wrong and what to do about it. */
import { FixableError } from '../errors';

export type QueueErrorCode =
  | 'InvalidQueueUrl'
  | 'QueueNotFound'
  | 'NoCredentials'
  | 'PermissionDenied'
  | 'MessageTooLarge'
  | 'Unreachable'
  | 'LeaseLost'
  | 'LeaseLimitReached'
  | 'UnsupportedOperation'
  | 'BackendError';

export class QueueError extends FixableError<QueueErrorCode> {
  override readonly name = 'QueueError';

  /** Worth retrying with backoff (the backend may come back), as opposed to a configuration problem. */
  get transient(): boolean {
    return this.code === 'Unreachable' || this.code === 'BackendError';
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
