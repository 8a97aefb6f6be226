/**
 * gs:// beyond the contract suite (which runs on fake-gcs-server): what a real GCS JSON API server
 * shows (content types, a missing bucket on every operation, pages of 1,000), and what it cannot
 * (no IAM, no failures on demand): the real client against loopback sockets that never answer (a
 * closed port; a listener that records the request line and drops the connection), and real error
 * objects from the library, classified.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ApiError, Storage as GcsClient } from '@google-cloud/storage';
import { openStorage, StorageError } from '../lib/storage';
import { classifyGcsError } from '../lib/storage/gcsErrors';
import { freePort } from './support/fauxqs';
import { withEnv } from './support/env';
import { startFakeGcs } from './support/fakeGcs';
import { useToolServer } from './support/tools';

async function failureOf(attempt: () => Promise<unknown>): Promise<StorageError> {
  try {
    await attempt();
  } catch (error) {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the call to fail');
}

/** A loopback listener that records each request's first line and drops the connection unanswered. */
async function startDropper(): Promise<{ server: Server; host: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((socket) => {
    socket.once('data', (chunk) => {
      requests.push(chunk.toString('latin1').split('\r\n')[0]);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { server, host: `http://127.0.0.1:${address.port}`, requests };
}

describe('storage: gs:// on fake-gcs-server', function () {
  this.timeout(60_000);
  const gcs = useToolServer('fake-gcs-server', startFakeGcs);
  let client: GcsClient;
  before(async () => {
    client = new GcsClient({ apiEndpoint: gcs.server.endpoint, projectId: 'test' });
    await client.createBucket('meta');
  });
  const withServer = <T>(fn: () => Promise<T>) => withEnv({ STORAGE_EMULATOR_HOST: gcs.server.endpoint }, fn);

  it('stores objects under the prefix with their content types', async () => {
    await withServer(async () => {
      const storage = openStorage('gs://meta/runs/1');
      await storage.putJson('a.json', { n: 1 });
      await storage.put('b.txt', 'hi');
      await storage.put('c.bin', new Uint8Array([1, 2]), { contentType: 'image/png' });
      await storage.put('d', 'no extension');
      const [files] = await client.bucket('meta').getFiles({ prefix: 'runs/1/' });
      assert.deepEqual(Object.fromEntries(files.map((file) => [file.name, file.metadata.contentType])), {
        'runs/1/a.json': 'application/json',
        'runs/1/b.txt': 'text/plain',
        'runs/1/c.bin': 'image/png',
        'runs/1/d': 'application/octet-stream',
      });
    });
  });

  it('round-trips a 9 MiB object (above the 8 MiB resumable-upload threshold)', async () => {
    await withServer(async () => {
      const storage = openStorage('gs://meta/big');
      const body = new Uint8Array(9 * 1024 * 1024).fill(3);
      await storage.put('blob.bin', body);
      const [metadata] = await client.bucket('meta').file('big/blob.bin').getMetadata();
      assert.equal(Number(metadata.size), body.byteLength);
      assert.deepEqual(await storage.get('blob.bin'), body);
    });
  });

  it('reports a missing bucket as NotFound on every operation, naming the bucket', async () => {
    await withServer(async () => {
      const storage = openStorage('gs://no-such-bucket/p', { maxRetries: 0 });
      const attempts: Array<() => Promise<unknown>> = [
        () => storage.exists('a.json'),
        () => storage.get('a.json'),
        () => storage.put('a.json', '{}'),
        () => storage.delete('a.json'),
        () => storage.existsMany(['a.json', 'b.json']),
        async () => {
          for await (const object of storage.list('')) assert.fail(`listed ${object.key}`);
        },
      ];
      for (const attempt of attempts) {
        const error = await failureOf(attempt);
        assert.equal(error.code, 'NotFound', error.message);
        assert.match(error.message, /bucket "no-such-bucket" does not exist/);
        assert.match(error.message, /gcloud storage buckets create gs:\/\/no-such-bucket/);
      }
    });
  });
});

describe('storage: gs:// against sockets that never answer', () => {
  it('reports an unreachable emulator host as Unreachable on every operation, naming key and host', async () => {
    const host = `http://127.0.0.1:${await freePort()}`;
    await withEnv({ STORAGE_EMULATOR_HOST: host }, async () => {
      const storage = openStorage('gs://my-bucket/out', { maxRetries: 0 });
      const attempts: Array<[string, () => Promise<unknown>]> = [
        ['exists "ü/a.json"', () => storage.exists('ü/a.json')],
        ['get "a.json"', () => storage.get('a.json')],
        ['put "a.json"', () => storage.put('a.json', '{}')],
        ['put "big.bin"', () => storage.put('big.bin', new Uint8Array(9 * 1024 * 1024))],
        ['delete "a.json"', () => storage.delete('a.json')],
        [
          'list "p/"',
          async () => {
            for await (const object of storage.list('p/')) assert.fail(`listed ${object.key}`);
          },
        ],
      ];
      for (const [what, attempt] of attempts) {
        const error = await failureOf(attempt);
        assert.equal(error.code, 'Unreachable', error.message);
        assert.equal(error.transient, true);
        for (const fragment of [what, 'gs://my-bucket/out', host, 'ECONNREFUSED', 'fix:']) {
          assert.ok(error.message.includes(fragment), `"${fragment}" in: ${error.message}`);
        }
      }
    });
  });

  it('maps keys under the prefix to URL-encoded object names in the JSON API requests', async () => {
    const dropper = await startDropper();
    try {
      await withEnv({ STORAGE_EMULATOR_HOST: dropper.host }, async () => {
        const storage = openStorage('gs://my-bucket/runs/7', { maxRetries: 0 });
        await failureOf(() => storage.exists('ünï/日本 1.json'));
        await failureOf(() => storage.get('a.json'));
        await failureOf(() => storage.put('out/a.json', '{}'));
        await failureOf(() => storage.delete('a.json'));
        await failureOf(async () => {
          for await (const object of storage.list('p/')) assert.fail(`listed ${object.key}`);
        });
      });
      assert.deepEqual(
        dropper.requests.map((line) => line.replace(/\?(?= HTTP)/, '')),
        [
          'GET /storage/v1/b/my-bucket/o/runs%2F7%2F%C3%BCn%C3%AF%2F%E6%97%A5%E6%9C%AC%201.json HTTP/1.1',
          'GET /storage/v1/b/my-bucket/o/runs%2F7%2Fa.json?alt=media HTTP/1.1',
          'POST /upload/storage/v1/b/my-bucket/o?uploadType=multipart&name=runs%2F7%2Fout%2Fa.json HTTP/1.1',
          'DELETE /storage/v1/b/my-bucket/o/runs%2F7%2Fa.json HTTP/1.1',
          'GET /storage/v1/b/my-bucket/o?prefix=runs%2F7%2Fp%2F&maxResults=1000 HTTP/1.1',
        ],
      );
    } finally {
      dropper.server.close();
    }
  });

  it('lets the client retry a dropped connection, then reports Unreachable', async function () {
    this.timeout(20_000);
    const dropper = await startDropper();
    try {
      const error = await withEnv({ STORAGE_EMULATOR_HOST: dropper.host }, () =>
        failureOf(() => openStorage('gs://my-bucket', { maxRetries: 1 }).exists('k.json')),
      );
      assert.equal(error.code, 'Unreachable', error.message);
      assert.match(error.message, /ECONNRESET/);
      assert.equal(dropper.requests.length, 2, 'one try and one retry');
    } finally {
      dropper.server.close();
    }
  });

  it('reports missing Application Default Credentials as NoCredentials with how to set them up', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'storage-no-adc-'));
    try {
      // The library's own error when ADC finds nothing. METADATA_SERVER_DETECTION=none keeps it
      // from probing the GCE metadata address: only loopback traffic here.
      const adcError = await withEnv(
        {
          STORAGE_EMULATOR_HOST: undefined,
          GOOGLE_APPLICATION_CREDENTIALS: undefined,
          HOME: home,
          CLOUDSDK_CONFIG: path.join(home, 'gcloud'),
          METADATA_SERVER_DETECTION: 'none',
        },
        () =>
          new GcsClient().authClient.getClient().then(
            () => assert.fail('found credentials'),
            (e: unknown) => e,
          ),
      );
      const error = classifyGcsError(adcError, { operation: 'put', key: 'k.json', url: 'gs://b/p', bucket: 'b' });
      assert.equal(error.code, 'NoCredentials', error.message);
      assert.match(error.message, /put "k\.json" under gs:\/\/b\/p/);
      assert.match(error.message, /Workload Identity/);
      assert.match(error.message, /gcloud auth application-default login/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("classifies the client's ApiErrors: 401, 403, 404 (bucket), 429 and 5xx", () => {
    const context = { operation: 'get', key: 'k.json', url: 'gs://b/p', bucket: 'b' };
    const apiError = (code: number, message: string) => Object.assign(new ApiError(message), { code });
    const cases: Array<[number, string, StorageError['code'], boolean, RegExp]> = [
      [401, 'Anonymous caller does not have storage.objects.get access', 'NoCredentials', false, /Workload Identity/],
      [
        403,
        'sa@p.iam.gserviceaccount.com does not have storage.objects.get access',
        'PermissionDenied',
        false,
        /roles\/storage\.objectAdmin on gs:\/\/b/,
      ],
      [404, 'The specified bucket does not exist.', 'NotFound', false, /bucket "b" does not exist/],
      [429, 'rate limited', 'BackendError', true, /HTTP 429/],
      [503, 'backend error', 'BackendError', true, /HTTP 503/],
    ];
    for (const [status, message, code, transient, pattern] of cases) {
      const error = classifyGcsError(apiError(status, message), context);
      assert.equal(error.code, code, `${status}: ${error.message}`);
      assert.equal(error.transient, transient, String(status));
      assert.match(error.message, /get "k\.json" under gs:\/\/b\/p/);
      assert.match(error.message, pattern);
    }
  });
});
