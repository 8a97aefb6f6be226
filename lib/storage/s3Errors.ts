/**
 * Turns what @aws-sdk/client-s3 throws (after its own retries) into one StorageError that names
 * the cloudpath and key and says how to fix it. Reads only `name` and `$metadata`, so it needs no
 * SDK import.
 */
import { describe, networkErrorCode, StorageError } from './errors';
import { settingRef } from '../settings/table';

export interface S3ErrorContext {
  readonly operation: string;
  readonly key: string;
  readonly url: string;
  readonly bucket: string;
  /** AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL when set. */
  readonly endpoint?: string;
}

interface S3ErrorShape {
  readonly name?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

const REJECTED_CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);
const DENIED = new Set(['AccessDenied', 'AllAccessDisabled', 'Forbidden', 'AccountProblem']);

function statusOf(error: unknown): number | undefined {
  return (error as S3ErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/** A 404 from S3 (missing key, or a missing bucket when the answer had no body, as for HEAD). */
export function isS3NotFound(error: unknown): boolean {
  const name = (error as S3ErrorShape | undefined)?.name;
  return name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchBucket' || statusOf(error) === 404;
}

export function classifyS3Error(error: unknown, context: S3ErrorContext): StorageError {
  const name = (error as S3ErrorShape | undefined)?.name ?? '';
  const status = statusOf(error);
  const where = `${context.operation} ${JSON.stringify(context.key)} under ${context.url}`;
  const options = { cause: error };

  if (name === 'NoSuchBucket' || (status === 404 && name !== 'NoSuchKey' && name !== 'NotFound')) {
    return new StorageError(
      'NotFound',
      `${where}: the bucket "${context.bucket}" does not exist${context.endpoint ? ` at ${context.endpoint}` : ''}`,
      `create it (e.g. aws s3 mb s3://${context.bucket}) or fix the cloudpath (${settingRef('cloudpath')})`,
      options,
    );
  }
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(describe(error))) {
    return new StorageError(
      'NoCredentials',
      `${where}: no AWS credentials found`,
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an IAM role is ' +
        'attached (the SDK standard credential chain)',
      options,
    );
  }
  if (REJECTED_CREDENTIALS.has(name)) {
    return new StorageError(
      'NoCredentials',
      `${where}: S3 rejected the credentials (${name})`,
      'check the access key, secret and session token, and the machine clock',
      options,
    );
  }
  if (DENIED.has(name) || status === 403) {
    return new StorageError(
      'PermissionDenied',
      `${where}: access denied (${name || status})`,
      `grant s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on bucket "${context.bucket}" ` +
        `to this identity (without s3:ListBucket S3 answers 403 for a missing object)`,
      options,
    );
  }
  const network = networkErrorCode(error);
  if (network || name === 'TimeoutError') {
    return new StorageError(
      'Unreachable',
      `${where}: cannot reach S3${context.endpoint ? ` at ${context.endpoint}` : ''} ` +
        `(${network ?? name}) after retries`,
      context.endpoint
        ? 'start the server or fix AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL'
        : 'check the network connection and proxy settings',
      options,
    );
  }
  return new StorageError(
    'BackendError',
    `${where}: S3 failed${status ? ` with HTTP ${status}` : ''}: ${name ? `${name}: ` : ''}${describe(error)}`,
    undefined,
    options,
  );
}
