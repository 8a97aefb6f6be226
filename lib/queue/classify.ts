/**
 * The one place that decides what a backend failure means: each errno (file queue) and each SQS
 * error name maps to a QueueErrorCode, and `TRANSIENT_BY_CODE` in errors.ts says whether that code
 * is retried. The message built around the code lives with each backend (fileErrors.ts,
 * sqsErrors.ts); the decision lives here, in tables a test walks row by row.
 */
import type { QueueErrorCode } from './errors';

/**
 * errno → code for file-queue operations. `ENOENT` on a missing queue directory is QueueNotFound (decided by the
 * caller, which can look).
 */
export const ERRNO_CODES: Readonly<Record<string, QueueErrorCode>> = {
  // no right to the path: fix the permissions, then start again
  EACCES: 'PermissionDenied',
  EPERM: 'PermissionDenied',
  EROFS: 'PermissionDenied',
  // the path cannot hold a queue: a regular file on the way, a symlink loop, a virtual file system
  ENOTDIR: 'InvalidQueuePath',
  EISDIR: 'InvalidQueuePath',
  ELOOP: 'InvalidQueuePath',
  ENAMETOOLONG: 'InvalidQueuePath',
  EXDEV: 'InvalidQueuePath',
  EINVAL: 'InvalidQueuePath',
  ENXIO: 'InvalidQueuePath',
  ENODEV: 'InvalidQueuePath',
  // the file system may recover (space freed, server back, descriptors closed): retry with backoff
  ENOSPC: 'BackendError',
  EDQUOT: 'BackendError',
  EMFILE: 'BackendError',
  ENFILE: 'BackendError',
  ENOMEM: 'BackendError',
  EIO: 'BackendError',
  EAGAIN: 'BackendError',
  EBUSY: 'BackendError',
  EINTR: 'BackendError',
  ESTALE: 'BackendError',
  ETIMEDOUT: 'Unreachable',
  EHOSTDOWN: 'Unreachable',
  ENOENT: 'BackendError', // a file that vanished mid-operation (another worker, a purge)
  EEXIST: 'BackendError',
};

export function classifyErrno(errno: string): QueueErrorCode {
  return ERRNO_CODES[errno] ?? 'BackendError';
}

/** SQS error names (exception names, `Code`, `__type`) → code. */
export const SQS_ERROR_CODES: Readonly<Record<string, QueueErrorCode>> = {
  QueueDoesNotExist: 'QueueNotFound',
  'AWS.SimpleQueueService.NonExistentQueue': 'QueueNotFound',
  CredentialsProviderError: 'NoCredentials',
  InvalidClientTokenId: 'NoCredentials',
  UnrecognizedClientException: 'NoCredentials',
  SignatureDoesNotMatch: 'NoCredentials',
  IncompleteSignature: 'NoCredentials',
  ExpiredToken: 'NoCredentials',
  ExpiredTokenException: 'NoCredentials',
  InvalidSecurity: 'NoCredentials',
  AccessDenied: 'PermissionDenied',
  AccessDeniedException: 'PermissionDenied',
  KmsAccessDenied: 'PermissionDenied',
  ReceiptHandleIsInvalid: 'LeaseLost',
  MessageNotInflight: 'LeaseLost',
  InvalidReceiptHandle: 'LeaseLost',
  InvalidMessageContents: 'InvalidMessage',
  PurgeQueueInProgress: 'BackendError',
  OverLimit: 'BackendError',
  RequestThrottled: 'BackendError',
  ThrottlingException: 'BackendError',
  ServiceUnavailable: 'BackendError',
  InternalError: 'BackendError',
  InvalidAddress: 'InvalidQueueUrl',
  UnsupportedOperation: 'UnsupportedOperation',
};

/** Socket-level error codes meaning the endpoint could not be reached. */
export const NETWORK_ERRNOS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Codes of a failed SendMessageBatch entry that are worth sending again (throttled or server side). */
export const RETRYABLE_ENTRY_CODES: ReadonlySet<string> = new Set([
  'InternalError',
  'ServiceUnavailable',
  'ThrottlingException',
  'RequestThrottled',
  'KmsThrottled',
  'Throttling',
]);

/** Message patterns for SDK errors that come without a usable name. */
const MESSAGE_PATTERNS: ReadonlyArray<readonly [RegExp, QueueErrorCode]> = [
  [/queue does not exist/i, 'QueueNotFound'],
  [/could not load credentials/i, 'NoCredentials'],
  [/region is missing/i, 'NoCredentials'],
  [/not authorized to perform/i, 'PermissionDenied'],
  [/receipt handle/i, 'LeaseLost'],
];

export function classifySqsError(name: string, message: string, networkCode: string | undefined): QueueErrorCode {
  const byName = SQS_ERROR_CODES[name];
  if (byName) return byName;
  for (const [pattern, code] of MESSAGE_PATTERNS) if (pattern.test(message)) return code;
  if (networkCode) return 'Unreachable';
  return 'BackendError';
}

/** gRPC status codes of Pub/Sub calls → code (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GRPC_STATUS_CODES: Readonly<Record<number, QueueErrorCode>> = {
  1: 'BackendError', // CANCELLED
  2: 'BackendError', // UNKNOWN
  3: 'InvalidMessage', // INVALID_ARGUMENT: a message or attribute the service refuses
  4: 'Unreachable', // DEADLINE_EXCEEDED
  5: 'QueueNotFound', // NOT_FOUND: topic or subscription
  6: 'BackendError', // ALREADY_EXISTS (creation handles it)
  7: 'PermissionDenied', // PERMISSION_DENIED
  8: 'BackendError', // RESOURCE_EXHAUSTED: quota, flow control
  9: 'BackendError', // FAILED_PRECONDITION
  10: 'BackendError', // ABORTED
  12: 'UnsupportedOperation', // UNIMPLEMENTED
  13: 'BackendError', // INTERNAL
  14: 'Unreachable', // UNAVAILABLE
  16: 'NoCredentials', // UNAUTHENTICATED
};

const PUBSUB_MESSAGE_PATTERNS: ReadonlyArray<readonly [RegExp, QueueErrorCode]> = [
  [/could not load the default credentials|unable to detect a project id|invalid_grant/i, 'NoCredentials'],
];

export function classifyPubsubError(status: number | undefined, message: string): QueueErrorCode {
  for (const [pattern, code] of PUBSUB_MESSAGE_PATTERNS) if (pattern.test(message)) return code;
  return (status !== undefined ? GRPC_STATUS_CODES[status] : undefined) ?? 'BackendError';
}
