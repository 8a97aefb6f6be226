/** Typed storage errors: each names the cloudpath or key and says what to do about it. */
import { FixableError } from '../errors';

export type StorageErrorCode =
  /** The cloudpath is malformed or uses a scheme we do not support. */
  | 'InvalidUrl'
  /** A key breaks the key rules (see `validateKey`) or cannot be stored by this backend. */
  | 'InvalidKey'
  /** The bucket (or the file:// folder's parent) does not exist. A missing object is never an error. */
  | 'NotFound'
  /** The credentials work but may not do this. */
  | 'PermissionDenied'
  /** No credentials were found, or the service rejected them. */
  | 'NoCredentials'
  /** The service could not be reached (after the client's own retries). */
  | 'Unreachable'
  /** Anything else the backend reported, e.g. 5xx after the client's retries. */
  | 'BackendError';

export class StorageError extends FixableError<StorageErrorCode> {
  override readonly name = 'StorageError';

  /** Worth retrying later (the service may come back), as opposed to a configuration problem. */
  get transient(): boolean {
    return this.code === 'Unreachable' || this.code === 'BackendError';
  }
}

/** Node's socket-level error codes that mean "the service is not there (right now)". */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** The network error code of `error` or of any error in its `cause` chain, if there is one. */
export function networkErrorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return code;
    // AggregateError (e.g. IPv4 and IPv6 both refused) carries the real errors in `errors`.
    const inner = (current as { errors?: unknown }).errors;
    if (Array.isArray(inner)) {
      const found = inner.map(networkErrorCode).find((c) => c !== undefined);
      if (found) return found;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A short description of an unknown thrown value, for messages. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
