/**
 * Turns what @google-cloud/storage and google-auth-library throw (after the client's own retries)
 * into one StorageError that names the cloudpath and key and says how to fix it. Reads only plain
 * fields (`code`, `message`, `cause`), so it needs no SDK import.
 */
import { describe, networkErrorCode, StorageError } from './errors';
import { settingRef } from '../settings/table';

export interface GcsErrorContext {
  readonly operation: string;
  readonly key: string;
  readonly url: string;
  readonly bucket: string;
  /** STORAGE_EMULATOR_HOST when set. */
  readonly emulatorHost?: string;
}

/** The HTTP status of an ApiError (its numeric `code`), if it has one. */
export function gcsStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return code;
  return typeof code === 'string' && /^\d{3}$/.test(code) ? Number(code) : undefined;
}

const NO_ADC =
  /could not load the default credentials|unable to detect a project id|invalid_grant|invalid_rapt|reauthenticate/i;

export function classifyGcsError(error: unknown, context: GcsErrorContext): StorageError {
  const status = gcsStatus(error);
  const message = describe(error);
  const where = `${context.operation} ${JSON.stringify(context.key)} under ${context.url}`;
  const options = { cause: error };

  if (status === 404) {
    return new StorageError(
      'NotFound',
      `${where}: the bucket "${context.bucket}" does not exist` +
        (context.emulatorHost ? ` at ${context.emulatorHost}` : ''),
      `create it (e.g. gcloud storage buckets create gs://${context.bucket}) or fix the cloudpath ` +
        `(${settingRef('cloudpath')})`,
      options,
    );
  }
  if (status === 401 || NO_ADC.test(message)) {
    return new StorageError(
      'NoCredentials',
      `${where}: no usable Google credentials (${message.split('\n')[0]})`,
      "on GKE enable Workload Identity and bind the pod's Kubernetes service account to a Google service " +
        'account; locally run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS',
      options,
    );
  }
  if (status === 403) {
    return new StorageError(
      'PermissionDenied',
      `${where}: permission denied (${message.split('\n')[0]})`,
      `grant the workload's Google service account roles/storage.objectAdmin on gs://${context.bucket}`,
      options,
    );
  }
  const network = networkErrorCode(error);
  if (network) {
    return new StorageError(
      'Unreachable',
      `${where}: cannot reach Cloud Storage` +
        (context.emulatorHost ? ` at STORAGE_EMULATOR_HOST=${context.emulatorHost}` : '') +
        ` (${network})`,
      context.emulatorHost
        ? 'start the emulator or unset STORAGE_EMULATOR_HOST'
        : 'check the network connection and proxy settings',
      options,
    );
  }
  return new StorageError(
    'BackendError',
    `${where}: Cloud Storage failed${status ? ` with HTTP ${status}` : ''}: ${message}`,
    undefined,
    options,
  );
}
