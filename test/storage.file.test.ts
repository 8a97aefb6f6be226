/** file:// specifics: cloudpath forms, the on-disk layout, temp files, and a writer killed mid-write. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStorage, Storage, StorageError } from '../lib/storage';
import { TEMP_PREFIX } from '../lib/storage/keys';

const ROOT = path.resolve(__dirname, '..');

async function keysOf(storage: Storage, prefix?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const { key } of storage.list(prefix)) keys.push(key);
  return keys.sort();
}

/** Every file name under `dir`, recursively, relative and `/`-separated. */
async function filesOnDisk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

describe('storage: file://', () => {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'storage-file-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('opens file:///abs, file://./rel, file://rel and bare paths at the same folder', async () => {
    const absolute = openStorage(`file://${root}/out`);
    await absolute.put('k.txt', 'v');
    const relative = path.relative(process.cwd(), path.join(root, 'out'));
    for (const cloudpath of [
      `file://./${relative}`,
      `file://${relative}`,
      relative,
      path.join(root, 'out'),
      `${root}/out/`,
    ]) {
      const storage = openStorage(cloudpath);
      assert.equal(storage.url, `file://${path.join(root, 'out')}`, cloudpath);
      assert.equal(await storage.getText('k.txt'), 'v', cloudpath);
    }
  });

  it('stores each key as a file under the folder, creating parent folders', async () => {
    const storage = openStorage(path.join(root, 'not', 'yet', 'there'));
    assert.deepEqual(await keysOf(storage), [], 'a folder that does not exist lists nothing');
    await storage.putJson('a/b/c.json', { ok: true });
    assert.equal(await readFile(path.join(root, 'not/yet/there/a/b/c.json'), 'utf8'), '{"ok":true}');
    assert.deepEqual(await filesOnDisk(root), ['not/yet/there/a/b/c.json'], 'no temp file is left behind');
  });

  it('treats folders as no object, and refuses a key that would need an object as a folder', async () => {
    const storage = openStorage(root);
    await storage.put('dir/inner.txt', 'x');
    assert.equal(await storage.exists('dir'), false);
    assert.equal(await storage.get('dir'), undefined);
    await storage.delete('dir');
    assert.equal(await storage.exists('dir/inner.txt'), true, 'deleting a folder key removes nothing');

    for (const [key, description] of [
      ['dir/inner.txt/deeper', 'an object used as a folder'],
      ['dir', 'a folder used as an object'],
    ]) {
      await assert.rejects(storage.put(key, 'y'), (error: unknown) => {
        assert.ok(error instanceof StorageError, description);
        assert.equal(error.code, 'InvalidKey', description);
        assert.match(error.message, new RegExp(`put "${key}" under file://`), description);
        assert.match(error.message, /both an object and a folder/);
        return true;
      });
    }
    assert.deepEqual(await filesOnDisk(root), ['dir/inner.txt'], 'failed writes leave no temp files');
  });

  it('refuses at once under a folder that takes no new entries (/proc), where mkdir -p never ends', async () => {
    const storage = openStorage('/proc/gke-batch-storage-test/out');
    const started = Date.now();
    await assert.rejects(storage.putJson('runs/r.json', {}), (error: unknown) => {
      assert.ok(error instanceof StorageError);
      assert.match(error.message, /cannot create the directory \/proc\/gke-batch-storage-test: .*refuses new entries/);
      assert.match(error.message, /\n  fix: use a folder on a real, writable file system/);
      return true;
    });
    assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
  });

  it('never lists or counts temp files', async () => {
    const storage = openStorage(root);
    await storage.put('out/real.json', '{}');
    await writeFile(path.join(root, 'out', `${TEMP_PREFIX}0123456789abcdef`), 'partial');
    await mkdir(path.join(root, 'deep'), { recursive: true });
    await writeFile(path.join(root, 'deep', `${TEMP_PREFIX}feedface`), 'partial');
    assert.deepEqual(await keysOf(storage), ['out/real.json']);
    await assert.rejects(storage.exists(`out/${TEMP_PREFIX}0123456789abcdef`), { code: 'InvalidKey' });
  });

  it('lists lazily: stopping early reads no further', async () => {
    const storage = openStorage(root);
    for (let i = 0; i < 50; i++) await storage.put(`f${Math.floor(i / 10)}/${i}.txt`, String(i));
    const seen: string[] = [];
    for await (const { key } of storage.list()) {
      seen.push(key);
      if (seen.length === 3) break;
    }
    assert.equal(seen.length, 3);
    assert.equal(new Set(seen).size, 3);
  });

  it('a killed writer leaves the old object or none, never a part; list hides its temp file', async function () {
    this.timeout(30_000);
    const size = 32 * 1024 * 1024;
    // Writes `big.bin` over and over, alternating two versions each filled with one byte value,
    // prepared up front so the time between two lines is spent writing; prints after each.
    const writer = `
      const { openStorage } = require('./lib/storage');
      const storage = openStorage(process.env.STORAGE_DIR);
      const versions = [new Uint8Array(${size}).fill(1), new Uint8Array(${size}).fill(2)];
      (async () => {
        process.stdout.write('ready\\n');
        for (let i = 1; ; i++) {
          await storage.put('big.bin', versions[i % 2]);
          process.stdout.write('wrote ' + i + '\\n');
        }
      })();`;

    let leftoverTempSeen = false;
    let keyAbsentAfterKill = false;
    for (let attempt = 1; attempt <= 6 && !(leftoverTempSeen && keyAbsentAfterKill); attempt++) {
      const dir = path.join(root, `attempt-${attempt}`);
      const child = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', writer], {
        cwd: ROOT,
        env: { ...process.env, STORAGE_DIR: dir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // Odd attempts kill during the very first write (the key has never existed), even ones
      // during an overwrite (after at least one whole version is there).
      const killAfter = attempt % 2 === 1 ? 'ready' : 'wrote 1';
      for await (const line of createInterface({ input: child.stdout })) {
        if (line === killAfter) break;
      }
      await sleep(2 + Math.random() * 10);
      child.kill('SIGKILL');
      await exited;

      const storage = openStorage(dir);
      const onDisk = await filesOnDisk(dir).catch(() => []);
      const temps = onDisk.filter((name) => name.startsWith(TEMP_PREFIX));
      if (temps.length > 0) leftoverTempSeen = true;

      const body = await storage.get('big.bin');
      assert.equal(await storage.exists('big.bin'), body !== undefined);
      if (body === undefined) {
        keyAbsentAfterKill = true;
        assert.equal(killAfter, 'ready', 'a whole version existed before the kill, so it must still be there');
      } else {
        assert.equal(body.byteLength, size, 'the object is whole');
        assert.ok(
          body.every((byte) => byte === body[0]),
          'the object is one version, not a mix',
        );
      }
      assert.deepEqual(
        await keysOf(storage),
        body === undefined ? [] : ['big.bin'],
        `list shows only whole objects (on disk: ${onDisk.join(', ')})`,
      );
    }
    assert.ok(leftoverTempSeen, 'at least one kill landed mid-write (a temp file was left behind)');
    assert.ok(keyAbsentAfterKill, 'at least one kill landed during the first write (the key stayed absent)');
  });
});
