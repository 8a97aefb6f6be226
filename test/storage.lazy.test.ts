/**
 * Cloud SDKs load on first use: a file:// user never loads the AWS or Google client. Checked in a
 * child process, since this test process has loaded both SDKs for other tests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './support/fauxqs';

const ROOT = path.resolve(__dirname, '..');

const CHILD = `
  const { openStorage } = require('./lib/storage');
  const SDK = new RegExp(
    /[\\\\/]node_modules[\\\\/]/.source +
      /(@aws-sdk[\\\\/]client-s3|@aws-sdk[\\\\/]lib-storage|@google-cloud[\\\\/]storage)[\\\\/]/.source,
  );
  const loaded = () => [
    ...new Set(Object.keys(require.cache).map((file) => SDK.exec(file)?.[1].replace(/\\\\/g, '/')).filter(Boolean)),
  ].sort();
  const ignore = () => undefined;
  (async () => {
    openStorage('s3://bucket/prefix');
    openStorage('gs://bucket/prefix');
    const afterOpen = loaded();
    const local = openStorage('file://' + process.env.STORAGE_DIR);
    await local.put('a/b.json', '{}');
    await local.get('a/b.json');
    await local.existsMany(['a/b.json', 'c.json']);
    for await (const object of local.list()) void object;
    await local.delete('a/b.json');
    const afterFile = loaded();
    await openStorage('s3://bucket/prefix', { maxRetries: 0 }).exists('k').catch(ignore);
    const afterS3 = loaded();
    await openStorage('gs://bucket/prefix', { maxRetries: 0 }).exists('k').catch(ignore);
    const afterGs = loaded();
    process.stdout.write(JSON.stringify({ afterOpen, afterFile, afterS3, afterGs }));
  })();`;

describe('storage: lazy cloud clients', () => {
  it('a file:// user loads neither cloud SDK; each cloud backend loads only its own, on first use', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'storage-lazy-'));
    try {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const { stdout } = await promisify(execFile)(process.execPath, ['-r', 'tsx/cjs', '-e', CHILD], {
        cwd: ROOT,
        env: {
          ...process.env,
          STORAGE_DIR: dir,
          AWS_ENDPOINT_URL_S3: closed,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_REGION: 'us-east-1',
          STORAGE_EMULATOR_HOST: closed,
        },
      });
      assert.deepEqual(JSON.parse(stdout), {
        afterOpen: [],
        afterFile: [],
        afterS3: ['@aws-sdk/client-s3'],
        afterGs: ['@aws-sdk/client-s3', '@google-cloud/storage'],
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
