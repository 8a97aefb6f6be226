/**
 * Turns AWS SDK / network failures into typed queue errors that say what to do (the code is decided in classify.ts).
 */
import { classifySqsError, NETWORK_ERRNOS } from './classify';
import { QueueError } from './errors';
import { settingRef } from '../settings/table';

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
  const name = region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? '<region>';
  return `https://sqs.${name}.amazonaws.com`;
}

export function sqsErrorName(error: unknown): string {
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
    if (typeof e.code === 'string' && NETWORK_ERRNOS.has(e.code)) return e.code;
    if (e.name === 'TimeoutError') return 'timeout';
  }
  return undefined;
}

const PERMISSIONS =
  'sqs:SendMessage, ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl and ' +
  'PurgeQueue';

export function mapSqsError(error: unknown, context: SqsErrorContext, region?: string): Error {
  if (error instanceof QueueError) return error;
  const name = sqsErrorName(error);
  const message = error instanceof Error ? error.message : String(error);
  const network = networkCode(error);
  const code = classifySqsError(name, message, network);
  const cause = { cause: error };
  const what = `cannot ${context.action} SQS queue ${context.queue}`;
  const fail = (text: string, hint?: string) => new QueueError(code, `${what}: ${text}`, hint, cause);

  switch (code) {
    case 'QueueNotFound':
      return fail(
        'the queue does not exist',
        `create it with \`npm run queue:create -- --queue ${context.queue}\`, ` +
          `or check ${settingRef('queueUrl')} and AWS_REGION`,
      );
    case 'NoCredentials':
      if (/region is missing/i.test(message)) {
        return fail(
          'no AWS region configured',
          'set AWS_REGION (or run `aws configure`), or use the full https://sqs.REGION.amazonaws.com/ACCOUNT/NAME URL',
        );
      }
      if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
        return fail(
          'no AWS credentials found',
          'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), or run `aws configure`',
        );
      }
      return fail(
        `AWS rejected the credentials (${name}: ${message})`,
        'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN or AWS_PROFILE, or run `aws configure`',
      );
    case 'PermissionDenied':
      return fail(
        `permission denied (${message})`,
        `grant this identity ${PERMISSIONS} on the queue and its -dead queue`,
      );
    case 'LeaseLost':
      return fail(
        `the lease is no longer held (${name || message})`,
        'the visibility timeout ran out and another worker may hold the task; lease for longer or renew sooner',
      );
    case 'Unreachable':
      return fail(
        `endpoint ${sqsEndpointDescription(region)} unreachable (${network ?? name})`,
        'check the network, AWS_REGION, and AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL if you use a local server',
      );
    default:
      if (name === 'PurgeQueueInProgress') {
        return fail(
          'a purge is already in progress',
          'SQS allows one PurgeQueue per queue every 60 seconds; try again in a minute',
        );
      }
      if (name === 'OverLimit') {
        return fail(
          message,
          'too many leased (in-flight) messages: about 120,000 per queue; run fewer workers or lease fewer at once',
        );
      }
      return fail(`${name ? `${name}: ` : ''}${message}`);
  }
}
