/**
 * gs:// storage with @google-cloud/storage, loaded on first use so file:// users never pay for it.
 *
 * Credentials: Application Default Credentials; on GKE that is Workload Identity (no key files).
 * `STORAGE_EMULATOR_HOST` (`host:port` or `http://host:port`, as the Go and Python clients take it)
 * points the client at an emulator: we hand it over as `apiEndpoint` (JSON API under `/storage/v1`,
 * uploads under `/upload/storage/v1`, no auth). The Node client's own reading of the variable uses
 * it as the JSON API base without `/storage/v1`, which no emulator serves next to the upload URLs.
 * Retries: the client's own capped exponential backoff (about 2, 4, 8, 16 s) on 408/429/5xx and on
 * requests that got no answer (refused, reset, DNS), 4 retries unless `maxRetries` says otherwise.
 * Every write here is an idempotent whole-object overwrite (a rerun writes the same output), so we
 * let the client retry uploads too (`RetryAlways`), not only requests with preconditions.
 */
import type { Bucket, Storage as GcsClient } from '@google-cloud/storage';
import { classifyGcsError, gcsStatus } from './gcsErrors';
import { ObjectStorage } from './objectStorage';
import type { ListedObject } from './types';

type GcsSdk = typeof import('@google-cloud/storage');

/** Objects above this size upload in resumable sessions, which survive a dropped connection. */
const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;
const LIST_PAGE_SIZE = 1000;
const DEFAULT_MAX_RETRIES = 4;

function loadSdk(): GcsSdk {
  // Plain require at first use: keeps the SDK out of processes that only use file://.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@google-cloud/storage') as GcsSdk;
}

/** STORAGE_EMULATOR_HOST as an endpoint URL (`http://` added to a bare `host:port`), if set. */
export function emulatorEndpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = env.STORAGE_EMULATOR_HOST?.trim().replace(/\/+$/, '');
  if (!host) return undefined;
  return /^https?:\/\//i.test(host) ? host : `http://${host}`;
}

/**
 * Runs the (synchronous) client constructor with STORAGE_EMULATOR_HOST hidden, so the client takes
 * the endpoint from `apiEndpoint` alone; it reads the variable nowhere else.
 */
function withoutEmulatorVariable<T>(construct: () => T): T {
  const saved = process.env.STORAGE_EMULATOR_HOST;
  if (saved === undefined) return construct();
  delete process.env.STORAGE_EMULATOR_HOST;
  try {
    return construct();
  } finally {
    process.env.STORAGE_EMULATOR_HOST = saved;
  }
}

export class GcsStorage extends ObjectStorage {
  protected readonly existsConcurrency = 32;
  private handle?: Bucket;
  private bucketExists?: Promise<boolean>;

  constructor(
    readonly bucketName: string,
    /** '' or a prefix ending in '/'. */
    readonly prefix: string,
    url: string,
    /** Retries after the first attempt. */
    private readonly maxRetries = DEFAULT_MAX_RETRIES,
  ) {
    super(url);
  }

  private bucket(): Bucket {
    if (!this.handle) {
      const sdk = loadSdk();
      const emulator = emulatorEndpoint();
      const client: GcsClient = withoutEmulatorVariable(
        () =>
          new sdk.Storage({
            ...(emulator ? { apiEndpoint: emulator } : {}),
            retryOptions: {
              autoRetry: this.maxRetries > 0,
              maxRetries: this.maxRetries,
              retryDelayMultiplier: 2,
              maxRetryDelay: 32,
              totalTimeout: 300,
              idempotencyStrategy: sdk.IdempotencyStrategy.RetryAlways,
            },
          }),
      );
      this.handle = client.bucket(this.bucketName);
    }
    return this.handle;
  }

  private objectName(key: string): string {
    return this.prefix + key;
  }

  private fail(operation: string, key: string, error: unknown) {
    return classifyGcsError(error, {
      operation,
      key,
      url: this.url,
      bucket: this.bucketName,
      emulatorHost: process.env.STORAGE_EMULATOR_HOST,
    });
  }

  /** A missing object and a missing bucket both answer 404; one bucket lookup tells them apart. */
  private async assertBucketExists(operation: string, key: string): Promise<void> {
    this.bucketExists ??= this.bucket()
      .exists()
      .then(
        ([exists]) => exists,
        () => {
          this.bucketExists = undefined; // could not tell (e.g. no storage.buckets.get): ask again next time
          return true;
        },
      );
    if (!(await this.bucketExists)) throw this.fail(operation, key, { code: 404, message: 'bucket not found' });
  }

  protected async putObject(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    try {
      await this.bucket()
        .file(this.objectName(key))
        .save(bytes, { contentType, resumable: bytes.byteLength > RESUMABLE_THRESHOLD_BYTES });
    } catch (error) {
      throw this.fail('put', key, error);
    }
  }

  protected async getObject(key: string): Promise<Uint8Array | undefined> {
    try {
      const [contents] = await this.bucket().file(this.objectName(key)).download();
      // A plain Uint8Array view of the Buffer's memory (no copy), like the other backends return.
      return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
    } catch (error) {
      if (gcsStatus(error) !== 404) throw this.fail('get', key, error);
    }
    await this.assertBucketExists('get', key);
    return undefined;
  }

  protected async objectExists(key: string): Promise<boolean> {
    let exists: boolean;
    try {
      [exists] = await this.bucket().file(this.objectName(key)).exists();
    } catch (error) {
      throw this.fail('exists', key, error);
    }
    if (!exists) await this.assertBucketExists('exists', key);
    return exists;
  }

  protected async *listObjects(prefix: string): AsyncGenerator<ListedObject> {
    let pageToken: string | undefined;
    do {
      let files, next;
      try {
        [files, next] = await this.bucket().getFiles({
          prefix: this.objectName(prefix),
          autoPaginate: false,
          maxResults: LIST_PAGE_SIZE,
          pageToken,
        });
      } catch (error) {
        throw this.fail('list', prefix, error);
      }
      for (const file of files)
        yield { key: file.name.slice(this.prefix.length), size: Number(file.metadata.size ?? 0) };
      pageToken = next && 'pageToken' in next ? next.pageToken : undefined;
    } while (pageToken);
  }

  protected async deleteObject(key: string): Promise<void> {
    try {
      await this.bucket().file(this.objectName(key)).delete();
    } catch (error) {
      if (gcsStatus(error) !== 404) throw this.fail('delete', key, error);
      await this.assertBucketExists('delete', key);
    }
  }
}
