/**
 * Output storage: `openStorage(cloudpath)` gives the one `Storage` interface over a local
 * folder, Google Cloud Storage or Amazon S3. Cloud SDKs load on first use, never at open.
 */
import { parseCloudpath } from '../urls/cloudpath';
import { FileStorage } from './fileStorage';
import { GcsStorage } from './gcsStorage';
import { S3Storage } from './s3Storage';
import type { Storage } from './types';

export type { ListedObject, PutOptions, Storage, StorageBody } from './types';
export { StorageError, type StorageErrorCode } from './errors';
export { parseCloudpath, type Cloudpath } from '../urls/cloudpath';
export { validateKey } from './keys';

export interface OpenStorageOptions {
  /**
   * Cloud backends: how often the client retries a request that failed transiently (5xx,
   * throttling, dropped or refused connections), with capped exponential backoff; 0 disables.
   * Ignored by file://.
   * @defaultvalue 4 (s3://: AWS_MAX_ATTEMPTS - 1 when that is set)
   */
  readonly maxRetries?: number;
}

/**
 * Opens the storage a cloudpath names: `file:///abs`, `file://./rel`, a bare path, `gs://bucket/prefix`
 * or `s3://bucket/prefix`. Throws an InvalidUrl StorageError for anything else. Does no I/O.
 */
export function openStorage(cloudpath: string, options: OpenStorageOptions = {}): Storage {
  const { maxRetries } = options;
  if (maxRetries !== undefined && !(Number.isInteger(maxRetries) && maxRetries >= 0)) {
    throw new RangeError(
      `openStorage(${JSON.stringify(cloudpath)}): maxRetries must be a whole number >= 0, got ${maxRetries}`,
    );
  }
  const location = parseCloudpath(cloudpath);
  switch (location.scheme) {
    case 'file':
      return new FileStorage(location.dir);
    case 's3':
      return new S3Storage(location.bucket, location.prefix, location.url, maxRetries);
    case 'gs':
      return new GcsStorage(location.bucket, location.prefix, location.url, maxRetries);
  }
}
