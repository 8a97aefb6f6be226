/**
 * Output storage: `openStorage(CF_CLOUDPATH)` gives the one `Storage` interface over a local
 * folder, Google Cloud Storage or Amazon S3. Cloud SDKs load on first use, never at open.
 */
import { parseCloudpath } from './cloudpath';
import { FileStorage } from './fileStorage';
import { GcsStorage } from './gcsStorage';
import { S3Storage } from './s3Storage';
import type { Storage } from './types';

export type { ListedObject, PutOptions, Storage, StorageBody } from './types';
export { StorageError, type StorageErrorCode } from './errors';
export { parseCloudpath, type Cloudpath } from './cloudpath';
export { validateKey } from './keys';

/**
 * Opens the storage a cloudpath names: `file:///abs`, `file://./rel`, a bare path, `gs://bucket/prefix`
 * or `s3://bucket/prefix`. Throws an InvalidUrl StorageError for anything else. Does no I/O.
 */
export function openStorage(cloudpath: string): Storage {
  const location = parseCloudpath(cloudpath);
  switch (location.scheme) {
    case 'file':
      return new FileStorage(location.dir);
    case 's3':
      return new S3Storage(location.bucket, location.prefix, location.url);
    case 'gs':
      return new GcsStorage(location.bucket, location.prefix, location.url);
  }
}
