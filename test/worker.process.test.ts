/**
 * The worker process at its edges: configuration errors and an unreachable queue. The per-backend
 * scenarios are in worker.fq.test.ts and worker.sqs.test.ts, the esbuild bundle in worker.bundle.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueue, openQueue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { freePort, startFauxqs } from './support/fauxqs';
import {
  eventually,
  FIXTURE_TASKS,
  killAllWorkers,
  spawnWorker,
  startWorker,
  WorkerProcess,
} from './support/workerProcess';
import { withEnv } from './support/env';

describe('worker process: configuration errors', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'worker-config-'))));
  after(async () => {
    await killAllWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 2 at start with one clear message', async () => {
    const queueUrl = `fq://${path.join(dir, 'queue')}`;
    await createQueue(queueUrl);
    const cases: Array<[string[], RegExp]> = [
      [
        ['--queue', queueUrl, '--lease', 'soon'],
        /TQ_LEASE_SECONDS="soon" \(from flag\) must be a whole number of seconds/,
      ],
      [
        ['--queue', queueUrl, '--tasks', 'test/fixtures/tasks/nope.ts'],
        /--tasks test\/fixtures\/tasks\/nope\.ts: no such module/,
      ],
      [['--queue', `fq://${path.join(dir, 'missing')}`], /file queue .*missing does not exist/],
      [
        ['--queue', queueUrl, '--task-timeout', 'soon'],
        /TQ_TASK_TIMEOUT_SECONDS="soon" \(from flag\) must be a whole number of seconds/,
      ],
      [['--queue', queueUrl, '--task-heap-mb', '3'], /WORKER_TASK_HEAP_MB="3" \(from flag\) must be at least 16 MB/],
      [
        ['--queue', queueUrl, '--max-retry-delay', 'never'],
        /--max-retry-delay "never" must be a whole number of seconds/,
      ],
    ];
    const runs = cases.map(([args]) => spawnWorker(args));
    const exits = await Promise.all(runs.map((worker) => worker.waitForExit(20_000)));
    for (const [index, [, message]] of cases.entries()) {
      assert.equal(exits[index]!.code, 2, runs[index]!.describe());
      assert.match(runs[index]!.stderr, message);
      assert.equal(runs[index]!.stderr.trim().split('\n')[0]!.startsWith('error: '), true, runs[index]!.stderr);
      assert.doesNotMatch(runs[index]!.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});

describe('worker process: SQS unreachable', function () {
  this.timeout(30_000);
  afterEach(() => killAllWorkers());

  const warnings = (worker: WorkerProcess, pattern: RegExp) =>
    worker.logs.filter((line) => line.severity === 'WARNING' && pattern.test(String(line.message)));

  it('waits with backoff for a queue it cannot reach at start, and still stops cleanly', async () => {
    const deadEndpoint = `http://127.0.0.1:${await freePort()}`;
    const worker = spawnWorker(['--queue', 'sqs://nobody-home'], {
      ...SQS_TEST_CREDENTIALS,
      AWS_ENDPOINT_URL_SQS: deadEndpoint,
    });
    await eventually('two retries', () => warnings(worker, /cannot reach the queue/).length >= 2, 15_000);
    assert.ok(worker.running, 'no crash');
    worker.signal('SIGTERM');
    assert.equal((await worker.waitForExit(10_000)).code, 0, worker.describe());
  });

  it('keeps running through a queue outage, retrying with backoff', async () => {
    // A server of its own, stopped mid-test (the shared one of useFauxqs() must outlive its tests).
    const server = await startFauxqs();
    let worker: WorkerProcess;
    try {
      const url = await withEnv(server.env, () => createQueue(`sqs://worker-outage-${process.pid}`));
      worker = await startWorker(['--queue', url, '--tasks', FIXTURE_TASKS], server.env);
    } finally {
      await server.stop();
    }
    await eventually('two retries', () => warnings(worker, /queue error while leasing tasks/).length >= 2, 15_000);
    const [first, second] = warnings(worker, /queue error while leasing tasks/);
    assert.ok(Number(second!.retryInMs) > 0 && Number(first!.retryInMs) > 0);
    assert.equal((first!.err as { code?: string }).code, 'Unreachable');
    assert.ok(worker.running, 'no crash');
    worker.signal('SIGTERM');
    assert.equal((await worker.waitForExit(10_000)).code, 0, worker.describe());
  });
});

const SQS_TEST_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };

describe('worker process: exit codes with --exit-when-empty (what a Kubernetes Job reads)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'worker-exit-'))));
  after(async () => {
    await killAllWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits 3 when stopped while tasks remain, and 0 once the queue is drained', async () => {
    const queueUrl = await createQueue(`fq://${path.join(dir, 'queue')}`);
    const queue = await openQueue(queueUrl);
    const sleepKwargs = (name: string, ms: number) => ({ dir, name, ms });
    await queue.insert([encodeTask(['fixtures', 'sleep'], sleepKwargs('long', 20_000), queueUrl)]);
    const args = [
      '--queue',
      queueUrl,
      '--tasks',
      FIXTURE_TASKS,
      '--exit-when-empty',
      '--grace-seconds',
      '1',
      '--cloudpath',
      `file://${path.join(dir, 'out')}`,
    ];

    const stopped = await startWorker(args);
    await stopped.waitForLog((line) => line.message === 'task started');
    stopped.signal('SIGTERM');
    const early = await stopped.waitForExit(15_000);
    assert.equal(early.code, 3, stopped.describe());
    assert.equal((await queue.counts()).enqueued, 1, 'the task went back to the queue');

    // Replace the long task by a short one: this worker drains the queue and says so with 0.
    await queue.purge();
    await queue.insert([encodeTask(['fixtures', 'sleep'], sleepKwargs('short', 10), queueUrl)]);
    const drainer = spawnWorker(args);
    const done = await drainer.waitForExit(30_000);
    assert.equal(done.code, 0, drainer.describe());
    assert.equal(await queue.isEmpty(), true);
    await queue.close();
  });
});
