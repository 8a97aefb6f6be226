/**
 * The skip filter at scale (`skipExistingOutputs`, lib/storage/existingKeys.ts), on every backend:
 * file:// on a temp folder, s3:// on fauxqs, gs:// on fake-gcs-server. A large table costs one
 * paged listing, not a request per row; few keys, or a prefix far bigger than the keys asked,
 * fall back to one check per key. HTTP requests are counted as they leave this process.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage as GcsClient } from '@google-cloud/storage';
import { openStorage, Storage, StorageError } from '../lib/storage';
import { mapBounded } from '../lib/storage/bounded';
import { commonPrefix, ExistingKeys } from '../lib/storage/existingKeys';
import { skipExistingOutputs } from '../lib/task';
import { startFakeGcs } from './support/fakeGcs';
import { useFauxqs } from './support/fauxqs';
import { countHttpRequests } from './support/httpRequests';
import { useToolServer } from './support/tools';

interface Row {
  readonly n: number;
}

const keyOf = (row: Row) => `out/${row.n}.json`;

function skipContract(openAt: (name: string) => Storage, cloud: boolean): void {
  it('answers 2,500 rows in 3 chunks from one listing, not 2,500 checks', async function () {
    this.timeout(120_000);
    const storage = openAt('chunks');
    const rows: Row[] = Array.from({ length: 2_500 }, (_, n) => ({ n }));
    const done = rows.filter((row) => row.n % 3 !== 0);
    await mapBounded(done, 32, (row) => storage.put(keyOf(row), '{}'));
    await storage.put('other/x.json', '{}');

    const filter = skipExistingOutputs(keyOf);
    const requests = countHttpRequests();
    const kept: Row[] = [];
    try {
      for (let i = 0; i < rows.length; i += 1_000) kept.push(...(await filter(rows.slice(i, i + 1_000), storage)));
    } finally {
      requests.stop();
    }
    assert.deepEqual(
      kept.map((row) => row.n),
      rows.filter((row) => row.n % 3 === 0).map((row) => row.n),
    );
    if (cloud) {
      // ceil(1,667 / 1,000) pages for the first chunk; the later chunks are answered from it
      assert.ok(requests.count <= 4, `${requests.count} requests for 2,500 rows`);
      assert.ok(requests.count >= 2, `${requests.count} requests: the listing really paged`);
    }
  });

  it('checks a few keys one by one', async () => {
    const storage = openAt('few');
    await storage.put('out/1.json', '{}');
    const index = new ExistingKeys(storage);
    assert.deepEqual(await index.check(['out/1.json', 'out/2.json']), [true, false]);
    assert.deepEqual(index.stats, { listPages: 0, listedObjects: 0, keyChecks: 2, fromListing: 0 });
  });

  it(
    'falls back to per-key checks when the prefix holds far more than the keys asked, and lists it only ' + 'once',
    async function () {
      this.timeout(60_000);
      const storage = openAt('big');
      await mapBounded(
        Array.from({ length: 300 }, (_, n) => `out/${n}.json`),
        32,
        (key) => storage.put(key, '{}'),
      );
      // budget: 2 objects per key asked, so 60 keys may list 120 of the 300
      const index = new ExistingKeys(storage, 2);
      const asked = Array.from({ length: 60 }, (_, n) => `out/${n * 10}.json`);
      assert.deepEqual(
        await index.check(asked),
        asked.map((key) => Number(/\d+/.exec(key)![0]) < 300),
      );
      assert.equal(index.stats.keyChecks, 60);
      assert.equal(index.stats.listedObjects, 120, 'the listing stopped at its budget');
      await index.check(asked.map((key) => key.replace('.json', '0.json')));
      assert.equal(index.stats.listedObjects, 120, 'a prefix found too big is not listed again');
      assert.equal(index.stats.keyChecks, 120);
    },
  );

  it('refuses a bad key before any request', async () => {
    const storage = openAt('bad');
    const keys = [...Array.from({ length: 60 }, (_, n) => `out/${n}.json`), 'out/../x.json'];
    await assert.rejects(new ExistingKeys(storage).check(keys), (error: unknown) => {
      assert.ok(error instanceof StorageError && error.code === 'InvalidKey', String(error));
      assert.match(error.message, /out\/\.\.\/x\.json/);
      return true;
    });
  });
}

describe('skip filter: the common prefix', () => {
  it('is the longest string every key starts with', () => {
    assert.equal(commonPrefix(['out/1.json', 'out/12.json', 'out/2.json']), 'out/');
    assert.equal(commonPrefix(['out/10.json', 'out/12.json']), 'out/1');
    assert.equal(commonPrefix(['a', 'b']), '');
    assert.equal(commonPrefix(['same', 'same']), 'same');
    assert.equal(commonPrefix([]), '');
  });
});

describe('skip filter: file://', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'storage-skip-'));
  });
  after(() => rm(root, { recursive: true, force: true }));
  skipContract((name) => openStorage(`file://${path.join(root, name)}`), false);
});

describe('skip filter: s3:// on fauxqs', () => {
  useFauxqs();
  before(async () => {
    const s3 = new S3Client({ forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'skip' }));
    s3.destroy();
  });
  skipContract((name) => openStorage(`s3://skip/${name}`), true);
});

describe('skip filter: gs:// on fake-gcs-server', function () {
  this.timeout(60_000);
  const gcs = useToolServer('fake-gcs-server', startFakeGcs);
  let saved: string | undefined;
  before(async () => {
    await new GcsClient({ apiEndpoint: gcs.server.endpoint, projectId: 'test' }).createBucket('skip');
    saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = gcs.server.endpoint;
  });
  after(() => {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  });
  skipContract((name) => openStorage(`gs://skip/${name}`), true);
});
