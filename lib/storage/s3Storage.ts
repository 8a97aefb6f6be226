/**
 * s3:// storage with @aws-sdk/client-s3, loaded on first use so file:// users never pay for it.
 *
 * Credentials: the SDK's standard chain (environment, shared config/credentials files and
 * profiles, web identity, container and instance roles). Endpoint: the SDK's standard
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`; when either is set we address buckets path-style
 * (`http://host/bucket/key`), which S3-compatible servers expect. Region: the SDK's chain, else
 * us-east-1 with region redirects followed, so any bucket works without one.
 * Bodies over 8 MiB upload in parts (@aws-sdk/lib-storage), so S3 shows them only when complete.
 * Retries: the SDK's standard mode (capped exponential backoff with jitter on 5xx, throttling and
 * connection errors): 5 attempts unless `maxRetries` or AWS_MAX_ATTEMPTS says otherwise.
 */
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { classifyS3Error, isS3NotFound } from './s3Errors';
import { ObjectStorage } from './objectStorage';
import type { ListedObject } from './types';

type S3Sdk = typeof import('@aws-sdk/client-s3');
type LibStorage = typeof import('@aws-sdk/lib-storage');

/** Retries after the first attempt unless the caller or AWS_MAX_ATTEMPTS says otherwise. */
const DEFAULT_MAX_RETRIES = 4;
const FALLBACK_REGION = 'us-east-1';
const LIST_PAGE_SIZE = 1000;
/** Larger bodies go up in parts of this size (S3's minimum part is 5 MiB; the AWS CLI uses 8 MiB). */
const MULTIPART_PART_BYTES = 8 * 1024 * 1024;
/** Parts uploaded at once for one object. */
const MULTIPART_PARTS_IN_FLIGHT = 4;

function loadSdk(): S3Sdk {
  // Plain require at first use: keeps the SDK out of processes that only use file://.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-s3') as S3Sdk;
}

/** The custom S3 endpoint from the SDK's standard variables, if any. */
export function customS3Endpoint(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

export class S3Storage extends ObjectStorage {
  /** HEAD requests are cheap for S3; the SDK's agent allows 50 sockets. */
  protected readonly existsConcurrency = 32;
  private connection?: Promise<{ sdk: S3Sdk; client: S3Client }>;
  private bucketExists?: Promise<boolean>;

  constructor(
    readonly bucket: string,
    /** '' or a prefix ending in '/'. */
    readonly prefix: string,
    url: string,
    /** Retries after the first attempt; undefined: AWS_MAX_ATTEMPTS - 1, else 4. */
    private readonly maxRetries?: number,
  ) {
    super(url);
  }

  private maxAttempts(): number {
    if (this.maxRetries !== undefined) return this.maxRetries + 1;
    const fromEnv = Number(process.env.AWS_MAX_ATTEMPTS);
    return Number.isInteger(fromEnv) && fromEnv >= 1 ? fromEnv : DEFAULT_MAX_RETRIES + 1;
  }

  private connect(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    this.connection ??= (async () => {
      const sdk = loadSdk();
      const endpoint = customS3Endpoint();
      const config: S3ClientConfig = {
        forcePathStyle: endpoint !== undefined,
        followRegionRedirects: true,
        retryMode: process.env.AWS_RETRY_MODE ?? 'standard',
        maxAttempts: this.maxAttempts(),
        // Give up on a connect after 10 s and on a socket idle for 60 s; the retry takes it from there.
        requestHandler: { connectionTimeout: 10_000, socketTimeout: 60_000 },
      };
      const client = new sdk.S3Client(config);
      try {
        await client.config.region();
        return { sdk, client };
      } catch {
        // No region configured anywhere: S3 tells us the right one via redirects.
        client.destroy();
        return { sdk, client: new sdk.S3Client({ ...config, region: FALLBACK_REGION }) };
      }
    })();
    return this.connection;
  }

  private objectName(key: string): string {
    return this.prefix + key;
  }

  private context(operation: string, key: string) {
    return { operation, key, url: this.url, bucket: this.bucket, endpoint: customS3Endpoint() };
  }

  /**
   * HEAD answers a bare 404 for a missing object and for a missing bucket alike; one HeadBucket
   * per storage tells them apart so a wrong bucket is an error, not "nothing is done yet".
   */
  private async assertBucketExists(operation: string, key: string): Promise<void> {
    const { sdk, client } = await this.connect();
    this.bucketExists ??= client.send(new sdk.HeadBucketCommand({ Bucket: this.bucket })).then(
      () => true,
      (error: unknown) => {
        if (isS3NotFound(error)) return false;
        this.bucketExists = undefined; // could not tell (e.g. no s3:ListBucket): ask again next time
        return true;
      },
    );
    if (!(await this.bucketExists)) {
      throw classifyS3Error({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }, this.context(operation, key));
    }
  }

  protected async putObject(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    const { sdk, client } = await this.connect();
    const params = { Bucket: this.bucket, Key: this.objectName(key), Body: bytes, ContentType: contentType };
    try {
      if (bytes.byteLength <= MULTIPART_PART_BYTES) {
        await client.send(new sdk.PutObjectCommand(params));
      } else {
        // Multipart: each part retries on its own, and S3 shows the object only once it completes.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { Upload } = require('@aws-sdk/lib-storage') as LibStorage;
        await new Upload({
          client,
          params,
          partSize: MULTIPART_PART_BYTES,
          queueSize: MULTIPART_PARTS_IN_FLIGHT,
        }).done();
      }
    } catch (error) {
      throw classifyS3Error(error, this.context('put', key));
    }
  }

  protected async getObject(key: string): Promise<Uint8Array | undefined> {
    const { sdk, client } = await this.connect();
    try {
      const response = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.objectName(key) }));
      return response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (error instanceof sdk.NoSuchKey) return undefined;
      if (isS3NotFound(error) && (error as Error).name !== 'NoSuchBucket') {
        await this.assertBucketExists('get', key);
        return undefined;
      }
      throw classifyS3Error(error, this.context('get', key));
    }
  }

  protected async objectExists(key: string): Promise<boolean> {
    const { sdk, client } = await this.connect();
    try {
      await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.objectName(key) }));
      return true;
    } catch (error) {
      if (!isS3NotFound(error)) throw classifyS3Error(error, this.context('exists', key));
    }
    await this.assertBucketExists('exists', key);
    return false;
  }

  protected async *listObjects(prefix: string): AsyncGenerator<ListedObject> {
    const { sdk, client } = await this.connect();
    const pages = sdk.paginateListObjectsV2(
      { client, pageSize: LIST_PAGE_SIZE },
      { Bucket: this.bucket, Prefix: this.objectName(prefix) },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 };
        }
      }
    } catch (error) {
      throw classifyS3Error(error, this.context('list', prefix));
    }
  }

  protected async deleteObject(key: string): Promise<void> {
    const { sdk, client } = await this.connect();
    try {
      // S3 answers 204 for a missing key, so "missing is fine" needs nothing more here.
      await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectName(key) }));
    } catch (error) {
      throw classifyS3Error(error, this.context('delete', key));
    }
  }
}
