/**
 * One contract, run unchanged against every backend: file:// on a temp folder, s3:// on a real
 * S3-compatible server (fauxqs) and gs:// on a real GCS JSON API server (fake-gcs-server, reached
 * through STORAGE_EMULATOR_HOST as a user would).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage as GcsClient } from '@google-cloud/storage';
import { openStorage, Storage, StorageError } from '../lib/storage';
import { mapBounded } from '../lib/storage/bounded';
import { useFauxqs } from './support/fauxqs';
import { startFakeGcs } from './support/fakeGcs';
import { useToolServer } from './support/tools';

async function collect(storage: Storage, prefix?: string): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for await (const { key, size } of storage.list(prefix)) {
    assert.ok(!found.has(key), `list yielded ${key} twice`);
    found.set(key, size);
  }
  return found;
}

function sortedKeys(listing: Map<string, number>): string[] {
  return [...listing.keys()].sort();
}

async function assertInvalidKey(attempt: () => Promise<unknown>, key: string): Promise<void> {
  await assert.rejects(attempt, (error: unknown) => {
    assert.ok(
      error instanceof StorageError,
      `expected a StorageError for ${JSON.stringify(key)}, got ${String(error)}`,
    );
    assert.equal(error.code, 'InvalidKey');
    assert.ok(error.message.includes(JSON.stringify(key)), `message names the key: ${error.message}`);
    return true;
  });
}

/** The contract: `openAt(name)` opens an empty storage of its own for each test. */
function storageContract(openAt: (name: string) => Storage): void {
  it('round-trips strings, bytes and JSON, and overwrites', async () => {
    const storage = openAt('roundtrip');
    await storage.put('a.txt', 'hello');
    await storage.put('nested/deeper/b.bin', new Uint8Array([0, 1, 2, 255]));
    await storage.putJson('c.json', { n: 1, list: [1, 2] });
    assert.equal(await storage.getText('a.txt'), 'hello');
    assert.deepEqual(await storage.get('nested/deeper/b.bin'), new Uint8Array([0, 1, 2, 255]));
    assert.deepEqual(JSON.parse((await storage.getText('c.json')) ?? 'null'), { n: 1, list: [1, 2] });
    await storage.put('a.txt', 'replaced');
    assert.equal(await storage.getText('a.txt'), 'replaced');
    await storage.put('empty', '');
    assert.deepEqual(await storage.get('empty'), new Uint8Array());
    assert.equal(await storage.exists('empty'), true);
  });

  it('answers a missing object with undefined / false, and deletes a missing one quietly', async () => {
    const storage = openAt('missing');
    await storage.put('here.json', '{}');
    assert.equal(await storage.get('not-here.json'), undefined);
    assert.equal(await storage.getText('not/here/either.json'), undefined);
    assert.equal(await storage.exists('not-here.json'), false);
    // A key below an existing object is still just missing.
    assert.equal(await storage.exists('here.json/child'), false);
    assert.equal(await storage.get('here.json/child'), undefined);
    assert.deepEqual(await storage.existsMany(['here.json', 'not-here.json', 'here.json']), [true, false, true]);
    await storage.delete('not-here.json');
    await storage.delete('never/was/here');
    assert.deepEqual(sortedKeys(await collect(storage)), ['here.json']);
  });

  it('deletes an object', async () => {
    const storage = openAt('delete');
    await storage.put('x/gone.txt', 'bye');
    await storage.put('x/kept.txt', 'hi');
    await storage.delete('x/gone.txt');
    assert.equal(await storage.exists('x/gone.txt'), false);
    assert.equal(await storage.get('x/gone.txt'), undefined);
    assert.deepEqual(sortedKeys(await collect(storage)), ['x/kept.txt']);
  });

  it('stores unicode keys as they are', async () => {
    const storage = openAt('unicode');
    const keys = [
      'ünïcødé/日本語.json',
      'emoji/🚀 launch.txt',
      'spaces and +plus%percent#hash?.txt',
      'ελληνικά/ø/å.bin',
      'Ω',
    ];
    await mapBounded(keys, 4, (key, i) => storage.put(key, `value ${i} ${key}`));
    for (const [i, key] of keys.entries()) {
      assert.equal(await storage.getText(key), `value ${i} ${key}`, key);
    }
    assert.deepEqual(
      await storage.existsMany(keys),
      keys.map(() => true),
    );
    const listing = await collect(storage);
    assert.deepEqual(sortedKeys(listing), [...keys].sort());
    assert.equal(listing.get('Ω'), Buffer.byteLength(`value 4 Ω`));
    assert.deepEqual(sortedKeys(await collect(storage, 'ünïcødé/')), ['ünïcødé/日本語.json']);
    await storage.delete('emoji/🚀 launch.txt');
    assert.equal(await storage.exists('emoji/🚀 launch.txt'), false);
  });

  it('round-trips a 20 MB object byte for byte', async () => {
    const storage = openAt('large');
    const body = randomBytes(20 * 1024 * 1024);
    await storage.put('large/blob.bin', body);
    const back = await storage.get('large/blob.bin');
    assert.ok(back !== undefined);
    assert.equal(back.byteLength, body.byteLength);
    assert.ok(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(body), 'bytes differ');
    assert.deepEqual([...(await collect(storage)).entries()], [['large/blob.bin', body.byteLength]]);
  });

  it('lists 1,100+ objects across page boundaries and checks them with existsMany', async () => {
    const storage = openAt('many');
    const keys = Array.from({ length: 1_150 }, (_, i) => `many/${String(i).padStart(5, '0')}.json`);
    const others = ['other/a.json', 'other/b.json', 'manyx.json'];
    await mapBounded([...keys, ...others], 32, (key) => storage.put(key, key));

    const listing = await collect(storage, 'many/');
    assert.deepEqual(sortedKeys(listing), keys);
    assert.ok(
      [...listing.entries()].every(([key, size]) => size === Buffer.byteLength(key)),
      'sizes match the bodies',
    );
    assert.equal((await collect(storage)).size, keys.length + others.length);
    // A prefix is not a folder: "many" also matches "manyx.json".
    assert.equal((await collect(storage, 'many')).size, keys.length + 1);

    const asked = [...keys, 'many/missing.json', 'other/a.json', 'other/zzz.json'];
    const expected = [...keys.map(() => true), false, true, false];
    assert.deepEqual(await storage.existsMany(asked), expected);
  });

  it('lists by key prefix, including prefixes that stop inside a segment', async () => {
    const storage = openAt('prefix');
    for (const key of ['p/a1.json', 'p/a2/b.json', 'p/a2/c/d.json', 'p/b.json', 'q.json']) await storage.put(key, key);
    assert.deepEqual(sortedKeys(await collect(storage, 'p/a')), ['p/a1.json', 'p/a2/b.json', 'p/a2/c/d.json']);
    assert.deepEqual(sortedKeys(await collect(storage, 'p/a2/')), ['p/a2/b.json', 'p/a2/c/d.json']);
    assert.deepEqual(sortedKeys(await collect(storage, 'p/')), [
      'p/a1.json',
      'p/a2/b.json',
      'p/a2/c/d.json',
      'p/b.json',
    ]);
    assert.deepEqual(sortedKeys(await collect(storage, 'nothing/')), []);
    assert.equal((await collect(storage, '')).size, 5);
  });

  it('keeps one whole value when writers race on the same key', async () => {
    const storage = openAt('race');
    const size = 512 * 1024;
    const values = Array.from({ length: 8 }, (_, i) => new Uint8Array(size).fill(i + 1));
    await Promise.all(values.map((value) => storage.put('contended.bin', value)));
    const back = await storage.get('contended.bin');
    assert.ok(back !== undefined);
    assert.equal(back.byteLength, size);
    assert.ok(
      back.every((byte) => byte === back[0]) && back[0] >= 1 && back[0] <= 8,
      "the object is one writer's value, whole",
    );
    assert.deepEqual(sortedKeys(await collect(storage)), ['contended.bin']);
  });

  it('rejects invalid keys with one clear error that names the key', async () => {
    const storage = openAt('invalid');
    const bad = ['', '/abs.json', 'a/../b.json', '..', './a.json', 'a//b.json', 'a/', 'nul\0byte', 'dir/.tmp-123'];
    for (const key of bad) {
      await assertInvalidKey(() => storage.put(key, 'x'), key);
      await assertInvalidKey(() => storage.get(key), key);
      await assertInvalidKey(() => storage.exists(key), key);
      await assertInvalidKey(() => storage.delete(key), key);
    }
    await assertInvalidKey(() => storage.existsMany(['fine.json', 'a/../b.json']), 'a/../b.json');
    await assertInvalidKey(async () => collect(storage, '/x'), '/x');
    await assertInvalidKey(async () => collect(storage, 'a/../'), 'a/../');
    assert.deepEqual(sortedKeys(await collect(storage)), [], 'nothing was written');
  });
}

describe('storage contract: file://', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'storage-contract-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  storageContract((name) => openStorage(`file://${path.join(root, name)}`));
});

describe('storage contract: s3:// on fauxqs', () => {
  useFauxqs();
  const bucket = 'contract';
  before(async () => {
    const s3 = new S3Client({ forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
  });

  storageContract((name) => openStorage(`s3://${bucket}/runs/${name}`));
});

describe('storage contract: gs:// on fake-gcs-server', function () {
  this.timeout(60_000);
  const gcs = useToolServer('fake-gcs-server', startFakeGcs);
  const bucket = 'contract';
  let saved: string | undefined;
  before(async () => {
    await new GcsClient({ apiEndpoint: gcs.server.endpoint, projectId: 'test' }).createBucket(bucket);
    // As a user points the toolkit at an emulator: the bare host:port form other clients take.
    saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = `127.0.0.1:${gcs.server.port}`;
  });
  after(() => {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  });

  storageContract((name) => openStorage(`gs://${bucket}/runs/${name}`));
});
