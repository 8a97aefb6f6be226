/** s3:// specifics on a real S3-compatible server (fauxqs): layout, content types, pagination, errors. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { openStorage, Storage, StorageError } from '../lib/storage';
import { mapBounded } from '../lib/storage/bounded';
import { classifyS3Error } from '../lib/storage/s3Errors';
import { freePort, useFauxqs } from './support/fauxqs';
import { withEnv } from './support/env';

const BUCKET = 's3-specifics';

async function keysOf(storage: Storage, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of storage.list(prefix)) keys.push(key);
  return keys.sort();
}

function expectStorageError(code: StorageError['code'], ...fragments: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `"${fragment}" in: ${error.message}`);
    return true;
  };
}

describe('storage: s3://', () => {
  useFauxqs();
  let s3: S3Client;
  before(async () => {
    s3 = new S3Client({ forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  after(() => s3.destroy());

  it('keeps keys under the cloudpath prefix and ignores objects outside it', async () => {
    const storage = openStorage(`s3://${BUCKET}/jobs/run-1/`);
    assert.equal(storage.url, `s3://${BUCKET}/jobs/run-1`);
    await storage.put('out/a.json', '{}');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'jobs/run-10/out/b.json', Body: 'elsewhere' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'outside.json', Body: 'elsewhere' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'jobs/run-1/out/a.json' }));
    assert.equal(head.ContentLength, 2);
    assert.deepEqual(await keysOf(storage), ['out/a.json']);
    assert.deepEqual(await keysOf(openStorage(`s3://${BUCKET}`), 'jobs/'), [
      'jobs/run-1/out/a.json',
      'jobs/run-10/out/b.json',
    ]);
  });

  it('sets content types from the key, putJson, or the caller', async () => {
    const storage = openStorage(`s3://${BUCKET}/types`);
    await storage.putJson('v.json', [1]);
    await storage.put('t.csv', 'a,b\n');
    await storage.put('blob', new Uint8Array([1]));
    await storage.put('custom.dat', 'x', { contentType: 'application/x-custom' });
    const typeOf = async (key: string) =>
      (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `types/${key}` }))).ContentType;
    assert.equal(await typeOf('v.json'), 'application/json');
    assert.match((await typeOf('t.csv')) ?? '', /^text\/csv/);
    assert.equal(await typeOf('blob'), 'application/octet-stream');
    assert.equal(await typeOf('custom.dat'), 'application/x-custom');
  });

  it('uploads a large object in parts', async () => {
    const storage = openStorage(`s3://${BUCKET}/multipart`);
    const body = new Uint8Array(19 * 1024 * 1024).map((_, i) => i % 253);
    await storage.put('big.bin', body);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'multipart/big.bin' }));
    assert.equal(head.ContentLength, body.byteLength);
    assert.match(head.ETag ?? '', /-3"?$/, 'a multipart ETag ends in -<number of parts>');
    assert.deepEqual(await storage.get('big.bin'), body);
  });

  it('pages through ListObjectsV2 (the server cuts pages at 1,000)', async () => {
    const storage = openStorage(`s3://${BUCKET}/paged`);
    const keys = Array.from({ length: 1_001 }, (_, i) => `k/${String(i).padStart(4, '0')}`);
    await mapBounded(keys, 32, (key) => storage.put(key, 'x'));
    const firstPage = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'paged/', MaxKeys: 1_000 }));
    assert.equal(firstPage.IsTruncated, true, 'the server paginates, so the listing below crosses a page boundary');
    assert.deepEqual(await keysOf(storage), keys);
  });

  it('reports a missing bucket as NotFound on every operation, naming bucket and key', async () => {
    const storage = openStorage('s3://no-such-bucket/out');
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['put "a.json"', () => storage.put('a.json', 'x')],
      ['get "a.json"', () => storage.get('a.json')],
      ['exists "a.json"', () => storage.exists('a.json')],
      ['exists "b.json"', async () => storage.existsMany(['b.json'])],
      ['delete "a.json"', () => storage.delete('a.json')],
      ['list "p/"', () => keysOf(storage, 'p/')],
    ];
    for (const [what, attempt] of attempts) {
      await assert.rejects(
        attempt,
        expectStorageError(
          'NotFound',
          what,
          's3://no-such-bucket/out',
          'bucket "no-such-bucket" does not exist',
          'fix:',
        ),
      );
    }
  });

  it('works without a configured region (falls back to us-east-1)', async () => {
    await withEnv(
      {
        AWS_REGION: undefined,
        AWS_DEFAULT_REGION: undefined,
        AWS_CONFIG_FILE: '/nonexistent/config',
        AWS_PROFILE: undefined,
      },
      async () => {
        const storage = openStorage(`s3://${BUCKET}/region`);
        await storage.put('r.txt', 'ok');
        assert.equal(await storage.getText('r.txt'), 'ok');
      },
    );
  });

  it('reports missing credentials as NoCredentials with how to provide them', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'storage-no-aws-'));
    try {
      await withEnv(
        {
          AWS_ACCESS_KEY_ID: undefined,
          AWS_SECRET_ACCESS_KEY: undefined,
          AWS_SESSION_TOKEN: undefined,
          AWS_PROFILE: undefined,
          AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
          AWS_CONFIG_FILE: path.join(home, 'config'),
          AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
          AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
          // Keeps the chain off the instance metadata address: only loopback traffic here.
          AWS_EC2_METADATA_DISABLED: 'true',
        },
        async () => {
          await assert.rejects(
            openStorage(`s3://${BUCKET}/creds`).get('k.json'),
            expectStorageError('NoCredentials', 'get "k.json"', 'AWS_ACCESS_KEY_ID'),
          );
        },
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('reports an endpoint nobody listens on as Unreachable after the SDK retries', async () => {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    await withEnv({ AWS_ENDPOINT_URL_S3: endpoint, AWS_MAX_ATTEMPTS: '2' }, async () => {
      const error = await openStorage(`s3://${BUCKET}/x`)
        .exists('k.json')
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expectStorageError('Unreachable', 'exists "k.json"', endpoint, 'ECONNREFUSED', 'AWS_ENDPOINT_URL_S3')(error);
      assert.equal((error as StorageError).transient, true);
      assert.equal(
        (error as { cause?: { $metadata?: { attempts?: number } } }).cause?.$metadata?.attempts,
        2,
        'the SDK retried',
      );
    });
  });

  it("classifies the SDK's own exceptions: denied, rejected credentials, throttling", () => {
    const context = { operation: 'put', key: 'k.json', url: 's3://b/p', bucket: 'b' };
    const exception = (name: string, status: number) =>
      new S3ServiceException({
        name,
        $fault: status >= 500 ? 'server' : 'client',
        $metadata: { httpStatusCode: status },
        message: name,
      });
    expectStorageError(
      'PermissionDenied',
      'put "k.json" under s3://b/p',
      's3:PutObject',
    )(classifyS3Error(exception('AccessDenied', 403), context));
    expectStorageError('NoCredentials', 'rejected')(classifyS3Error(exception('InvalidAccessKeyId', 403), context));
    expectStorageError('NoCredentials', 'rejected')(classifyS3Error(exception('SignatureDoesNotMatch', 403), context));
    const throttled = classifyS3Error(exception('SlowDown', 503), context);
    expectStorageError('BackendError', 'HTTP 503', 'SlowDown')(throttled);
    assert.equal(throttled.transient, true);
    assert.equal(classifyS3Error(exception('AccessDenied', 403), context).transient, false);
  });
});
