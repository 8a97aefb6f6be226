/**
 * The esbuild bundle the image runs (scripts/build-worker.ts), run by plain `node` from an empty
 * folder, as in the image: no config/task.env, no node_modules, no tsx. The two entries load each
 * cloud SDK from its own file beside them, only when a queue or cloudpath of that cloud is used,
 * and the packages both load with the V8 code cache the build made.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { Worker as Thread } from 'node:worker_threads';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Storage as GcsClient } from '@google-cloud/storage';
import { createQueue, openQueue } from '../lib/queue';
import type { ThreadReply, ThreadRequest } from '../lib/queue/fileQueueThread';
import { encodeTask } from '../lib/queue/message';
import { openStorage } from '../lib/storage';
import { buildWorker, type BuiltWorker } from '../scripts/build-worker';
import { CODE_CACHE_ENV, loadVendorFile } from '../scripts/worker-bundle/vendorLoader';
import { countPrimes } from '../tasks/example';
import { startFakeGcs } from './support/fakeGcs';
import { useFauxqs } from './support/fauxqs';
import { startPstest } from './support/pstest';
import { withEnv } from './support/env';
import { useToolServer } from './support/tools';
import { WorkerProcess } from './support/workerProcess';

const SDK_FILES = ['aws-sdk.js', 'google-cloud.js'];

/** Inserts two example tasks, runs the bundle until the queue is empty; resolves with its summary. */
async function drainWithBundle(bundle: string, queueUrl: string, cloudpath: string, env: Record<string, string>) {
  const queue = await openQueue(queueUrl);
  await queue.insert(
    [0, 100].map((start) => encodeTask(countPrimes.key, { start, count: 100, label: 'bundle' }, 'bundle')),
  );
  await queue.close();
  const cwd = mkdtempSync(path.join(tmpdir(), 'worker-bundle-cwd-'));
  try {
    const child = spawn(process.execPath, ['--enable-source-maps', bundle], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        ...env,
        TASKQUEUE_PATH: queueUrl,
        CF_CLOUDPATH: cloudpath,
        WORKER_EXIT_WHEN_EMPTY: '1',
        TQ_LEASE_SECONDS: '10',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker = new WorkerProcess(child);
    const exit = await worker.waitForExit(60_000);
    assert.equal(exit.code, 0, worker.describe());
    assert.equal(worker.summary()?.succeeded, 2, worker.describe());
    return worker;
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function assertPrimesWritten(cloudpath: string): Promise<void> {
  const text = await openStorage(cloudpath).getText('primes/100.json');
  assert.ok(text !== undefined, `no primes/100.json under ${cloudpath}`);
  assert.equal((JSON.parse(text) as { primes: number }).primes, 21); // 101 … 199 in [100, 200)
}

describe('worker bundle: what the image runs', function () {
  this.timeout(120_000);
  let dir: string;
  let built: BuiltWorker;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'worker-bundle-'));
    built = await buildWorker({ outdir: path.join(dir, 'dist') });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is three small entries with source maps, and the packages in files of their own', () => {
    const expected = [
      'aws-sdk.js',
      'fq-thread.js',
      'fq-thread.js.map',
      'google-cloud.js',
      'shared-packages.js',
      'shared-packages.js.cache',
      'worker-thread.js',
      'worker-thread.js.map',
      'worker.js',
      'worker.js.map',
    ];
    assert.deepEqual(readdirSync(path.join(dir, 'dist')).sort(), expected);
    assert.deepEqual(built.files.map((file) => path.basename(file)).sort(), expected);
    // The cloud SDKs were 9 MB of the entries when bundled into both.
    assert.ok(built.bytes < 1e6, `the entries are ${built.bytes} bytes`);
    assert.ok(built.mapBytes < 0.5e6, `their maps are ${built.mapBytes} bytes`);
    assert.ok(built.cacheBytes > 0.1e6 && built.cacheBytes < 2e6, `the code cache is ${built.cacheBytes} bytes`);
  });

  it('has a code cache of shared-packages.js that the worker takes, on its main thread and threads', async () => {
    const file = path.join(dir, 'dist', 'shared-packages.js');
    // Taken after a start ran, it holds far more than the top level V8 compiles when the file loads.
    const cacheBytes = statSync(`${file}.cache`).size;
    const topLevelBytes = new vm.Script(readFileSync(file, 'utf8')).createCachedData().length;
    assert.ok(cacheBytes > 2 * topLevelBytes, `cache ${cacheBytes} bytes, top level alone ${topLevelBytes}`);
    const queueUrl = await createQueue(`fq://${path.join(dir, 'fq-cache')}`);
    const worker = await drainWithBundle(built.file, queueUrl, `file://${path.join(dir, 'out-cache')}`, {
      [CODE_CACHE_ENV]: 'report',
      WORKER_CONCURRENCY: '2',
    });
    const reports = worker.stderr.split('\n').filter((line) => line.startsWith('code cache of'));
    assert.deepEqual(reports, Array(3).fill(`code cache of ${file}: used`), worker.stderr);
  });

  it('loads a vendor file whose cache is absent, of another source, or refused by V8, as without one', async () => {
    const source = readFileSync(path.join(dir, 'dist', 'shared-packages.js'));
    const cache = readFileSync(path.join(dir, 'dist', 'shared-packages.js.cache'));
    const cases = {
      absent: [source, undefined],
      stale: [Buffer.concat([source, Buffer.from('\n// another build\n')]), cache],
      // The right source, but V8's part of the file spoilt: V8 refuses it.
      rejected: [source, Buffer.concat([cache.subarray(0, 32), Buffer.alloc(cache.length - 32, 7)])],
    } as const;
    for (const [expected, [code, cached]] of Object.entries(cases)) {
      const file = path.join(dir, `cache-${expected}`, 'shared-packages.js');
      mkdirSync(path.dirname(file));
      writeFileSync(file, code);
      if (cached) writeFileSync(`${file}.cache`, cached);
      const loaded = loadVendorFile(file);
      assert.equal(loaded.cache, expected);
      assert.equal(typeof (loaded.exports.zod as { object?: unknown }).object, 'function', expected);
    }
    // And the bundle with a refused cache still runs its tasks.
    const dist = path.join(dir, 'dist-refused-cache');
    cpSync(path.join(dir, 'dist'), dist, { recursive: true });
    writeFileSync(path.join(dist, 'shared-packages.js.cache'), cases.rejected[1]);
    const queueUrl = await createQueue(`fq://${path.join(dir, 'fq-refused-cache')}`);
    await drainWithBundle(path.join(dist, 'worker.js'), queueUrl, `file://${path.join(dir, 'out-refused')}`, {});
    await assertPrimesWritten(`file://${path.join(dir, 'out-refused')}`);
  });

  it("drains a file queue without the cloud SDKs' files: a file-queue worker never loads them", async () => {
    const dist = path.join(dir, 'dist-without-sdks');
    cpSync(path.join(dir, 'dist'), dist, { recursive: true });
    for (const file of SDK_FILES) rmSync(path.join(dist, file));
    const queueUrl = await createQueue(`fq://${path.join(dir, 'fq')}`);
    await drainWithBundle(path.join(dist, 'worker.js'), queueUrl, `file://${path.join(dir, 'out')}`, {});
    await assertPrimesWritten(`file://${path.join(dir, 'out')}`);
  });

  it("runs the file queue's leases and deletes on fq-thread.js, which the bundle carries", async () => {
    const queueUrl = await createQueue(`fq://${path.join(dir, 'fq-thread')}`);
    const root = queueUrl.slice('fq://'.length);
    const queue = await openQueue(queueUrl);
    await queue.insert([encodeTask(['tasks', 'noop'], {}, `file://${dir}`)]);
    await queue.close();
    const thread = new Thread(path.join(dir, 'dist', 'fq-thread.js'));
    try {
      const replies: ThreadReply[] = [];
      const next = () => new Promise<ThreadReply>((resolve) => thread.once('message', resolve));
      replies.push(await next()); // ready
      thread.postMessage({ id: 1, root, op: 'lease', options: { count: 5, seconds: 30 } } satisfies ThreadRequest);
      const leased = await next();
      assert.ok('leased' in leased && leased.leased.length === 1, JSON.stringify(leased));
      thread.postMessage({ id: 2, root, op: 'delete', tasks: leased.leased } satisfies ThreadRequest);
      assert.deepEqual(await next(), { id: 2, deleted: [undefined] });
      assert.deepEqual(replies, [{ ready: true }]);
      assert.deepEqual(readdirSync(path.join(root, 'queue')), []);
    } finally {
      await thread.terminate();
    }
  });

  it('maps our code back to TypeScript lines, and leaves the bundled packages on the bundle', () => {
    const bundle = readFileSync(built.file, 'utf8');
    const map = new SourceMap(JSON.parse(readFileSync(`${built.file}.map`, 'utf8')) as SourceMapPayload);
    const positionOf = (text: string) => {
      const offset = bundle.indexOf(text);
      assert.ok(offset >= 0, `"${text}" is in the bundle`);
      const before = bundle.slice(0, offset).split('\n');
      return { line: before.length - 1, column: before.at(-1)!.length };
    };
    const own = positionOf('queue is empty: exiting');
    const ownEntry = map.findEntry(own.line, own.column);
    assert.ok('originalSource' in ownEntry, 'our code is mapped');
    assert.match(ownEntry.originalSource, /worker\/leaseLoop\.ts$/);
    // commander's text, bundled into the main entry: unmapped, not attributed to the code before it.
    const bundled = positionOf('unknown option ');
    assert.deepEqual(map.findEntry(bundled.line, bundled.column), {});
  });

  describe('on SQS with S3 outputs (fauxqs)', () => {
    const fauxqs = useFauxqs();

    it('drains the queue and writes the outputs, loading aws-sdk.js', async () => {
      const bucket = `bundle-${process.pid}`;
      const s3 = new S3Client({ forcePathStyle: true });
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      s3.destroy();
      const queueUrl = await createQueue(`sqs://worker-bundle-${process.pid}`);
      await drainWithBundle(built.file, queueUrl, `s3://${bucket}/out`, fauxqs.server.env);
      await assertPrimesWritten(`s3://${bucket}/out`);
    });
  });

  describe('on Pub/Sub with GCS outputs (pstest, fake-gcs-server)', () => {
    const pstest = useToolServer('pstest', startPstest);
    const gcs = useToolServer('fake-gcs-server', startFakeGcs);

    it('drains the subscription and writes the outputs, loading google-cloud.js', async () => {
      const bucket = `bundle-${process.pid}`;
      await new GcsClient({ apiEndpoint: gcs.server.endpoint, projectId: 'test' }).createBucket(bucket);
      // As a user points the toolkit at an emulator: the bare host:port form other clients take.
      const emulator = { STORAGE_EMULATOR_HOST: `127.0.0.1:${gcs.server.port}` };
      const queueUrl = await createQueue(`pubsub://bundle/worker-bundle-${process.pid}`);
      await drainWithBundle(built.file, queueUrl, `gs://${bucket}/out`, { ...pstest.server.env, ...emulator });
      await withEnv(emulator, () => assertPrimesWritten(`gs://${bucket}/out`));
    });
  });
});
