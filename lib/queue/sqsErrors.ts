/** Turns AWS SDK / network failures into typed queue errors that say what to do. */
import { QueueError } from './errors';

export interface SqsErrorContext {
  /** e.g. "receive from" */
  readonly action: string;
  /** The queue URL or name the call was about. */
  readonly queue: string;
}

/** The endpoint the SDK talks to, for messages: the standard variables, else the AWS default. */
export function sqsEndpointDescription(region?: string): string {
  const custom = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
  if (custom)
    return `${custom} (from ${process.env.AWS_ENDPOINT_URL_SQS ? 'AWS_ENDPOINT_URL_SQS' : 'AWS_ENDPOINT_URL'})`;
  return `https://sqs.${region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '<region>'}.amazonaws.com`;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
const LEASE_LOST = new Set(['ReceiptHandleIsInvalid', 'MessageNotInflight', 'InvalidReceiptHandle']);
const BAD_CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSecurity',
]);

function errorName(error: unknown): string {
  const e = error as { name?: string; Code?: string; code?: string; __type?: string } | undefined;
  return (e?.name && e.name !== 'Error' ? e.name : undefined) ?? e?.Code ?? e?.__type ?? '';
}

/** Network error code, looking through `cause` chains (the SDK wraps socket errors). */
function networkCode(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; cause?: unknown; name?: string } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
    if (e.name === 'TimeoutError') return 'timeout';
  }
  return undefined;
}

export function mapSqsError(error: unknown, context: SqsErrorContext, region?: string): Error {
  if (error instanceof QueueError) return error;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);
  const cause = { cause: error };
  const what = `cannot ${context.action} SQS queue ${context.queue}`;

  if (
    name === 'QueueDoesNotExist' ||
    name === 'AWS.SimpleQueueService.NonExistentQueue' ||
    /queue does not exist/i.test(message)
  ) {
    return new QueueError(
      'QueueNotFound',
      `${what}: the queue does not exist`,
      `create it with \`npm run queue:create -- --queue ${context.queue}\`, or check TASKQUEUE_PATH / --queue and AWS_REGION`,
      cause,
    );
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new QueueError(
      'NoCredentials',
      `${what}: no AWS credentials found`,
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run `aws configure`',
      cause,
    );
  }
  if (/region is missing/i.test(message)) {
    return new QueueError(
      'NoCredentials',
      `${what}: no AWS region configured`,
      'set AWS_REGION (or run `aws configure`), or use the full https://sqs.REGION.amazonaws.com/ACCOUNT/NAME URL',
      cause,
    );
  }
  if (BAD_CREDENTIALS.has(name)) {
    return new QueueError(
      'NoCredentials',
      `${what}: AWS rejected the credentials (${name}: ${message})`,
      'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or AWS_PROFILE, or run `aws configure`',
      cause,
    );
  }
  if (
    name === 'AccessDenied' ||
    name === 'AccessDeniedException' ||
    name === 'KmsAccessDenied' ||
    /not authorized to perform/i.test(message)
  ) {
    return new QueueError(
      'PermissionDenied',
      `${what}: permission denied (${message})`,
      'grant this identity sqs:SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl and PurgeQueue on the queue and its -dead queue',
      cause,
    );
  }
  if (LEASE_LOST.has(name) || /receipt handle/i.test(message)) {
    return new QueueError(
      'LeaseLost',
      `${what}: the lease is no longer held (${name || message})`,
      'the visibility timeout ran out and another worker may hold the task; lease for longer or renew sooner',
      cause,
    );
  }
  if (name === 'PurgeQueueInProgress') {
    return new QueueError(
      'BackendError',
      `${what}: a purge is already in progress`,
      'SQS allows one PurgeQueue per queue every 60 seconds; try again in a minute',
      cause,
    );
  }
  if (name === 'OverLimit') {
    return new QueueError(
      'BackendError',
      `${what}: ${message}`,
      'too many leased (in-flight) messages: about 120,000 per queue; run fewer workers or lease fewer at once',
      cause,
    );
  }
  const network = networkCode(error);
  if (network) {
    return new QueueError(
      'Unreachable',
      `${what}: endpoint ${sqsEndpointDescription(region)} unreachable (${network})`,
      'check the network, AWS_REGION, and AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL if you use a local server',
      cause,
    );
  }
  return new QueueError('BackendError', `${what}: ${name ? `${name}: ` : ''}${message}`, undefined, cause);
}
