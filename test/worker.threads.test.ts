/**
 * Task threads with jobs sent ahead (worker/pool.ts): real threads running the fixture tasks. A
 * thread runs its jobs in order, says when each begins, hands back those it has not begun, and a
 * thread that dies takes only its running job with it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeTask } from '../lib/queue/message';
import { JobListener, JobRequest, RunResult, ThreadPool } from '../worker/pool';
import { FIXTURE_TASKS } from './support/workerProcess';

describe('task threads holding jobs sent ahead', function () {
  this.timeout(30_000);
  let dir: string;
  let pool: ThreadPool<TestJob>;
  let replaced: number;

  /** A job that records, in order, when it began. */
  interface TestJob extends JobRequest {
    readonly name: string;
    readonly events: string[];
  }
  const listener: JobListener<TestJob> = {
    log: () => undefined,
    start: (job) => job.events.push(`start ${job.name}`),
    time: (_job, ms) => assert.ok(ms >= 0),
  };

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'worker-threads-'));
    replaced = 0;
    pool = new ThreadPool(
      { size: 1, heapMb: 64, tasksModule: FIXTURE_TASKS, defaultCloudpath: `file://${dir}`, logLevel: 'info' },
      listener,
      () => replaced++,
    );
    await pool.ready();
  });
  afterEach(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function job(key: string, params: Record<string, unknown>, events: string[], name: string): TestJob {
    return { body: encodeTask(['fixtures', key], params, 'q').body, taskId: name, attempt: 1, name, events };
  }

  it('runs the jobs in order, each beginning when the one before it answered', async () => {
    const events: string[] = [];
    const [thread] = pool.threads;
    const jobs = ['a', 'b', 'c', 'd'].map((name) => job('sleep', { dir, name, ms: 20 }, events, name));
    const results = thread!.run(jobs);
    assert.equal(thread!.count, 4);
    assert.deepEqual(events, ['start a'], 'only the first job runs at once');
    const kinds = await Promise.all(results.map((result) => result.then((r) => r.kind)));
    assert.deepEqual(kinds, ['returned', 'returned', 'returned', 'returned']);
    assert.deepEqual(events, ['start a', 'start b', 'start c', 'start d']);
    assert.equal(thread!.count, 0);
  });

  it('hands back the jobs it has not begun; the running one goes on', async () => {
    const events: string[] = [];
    const [thread] = pool.threads;
    const jobs = [
      job('sleep', { dir, name: 'long', ms: 300 }, events, 'long'),
      job('noop', { i: 0 }, events, 'next1'),
      job('noop', { i: 0 }, events, 'next2'),
    ];
    const results = thread!.run(jobs);
    assert.ok(thread!.running(jobs[0]!));
    assert.ok(!thread!.running(jobs[1]!));
    thread!.cancelQueued();
    const kinds = await Promise.all(results.map((result) => result.then((r) => r.kind)));
    assert.deepEqual(kinds, ['returned', 'unstarted', 'unstarted']);
    assert.deepEqual(events, ['start long']);
    // The thread takes jobs again afterwards.
    const [again] = thread!.run([job('noop', { i: 0 }, events, 'again')]);
    assert.equal((await again!).kind, 'returned');
  });

  it('with handBackAfterMs, hands back the jobs waiting behind one that runs that long, and only those', async () => {
    const handing = new ThreadPool<TestJob>(
      {
        size: 1,
        heapMb: 64,
        tasksModule: FIXTURE_TASKS,
        defaultCloudpath: `file://${dir}`,
        logLevel: 'info',
        handBackAfterMs: 100,
      },
      listener,
    );
    try {
      await handing.ready();
      const events: string[] = [];
      const [thread] = handing.threads;
      // Quick ones first: they never reach the limit, so nothing is handed back while they run.
      const quick = ['q1', 'q2', 'q3'].map((name) => job('sleep', { dir, name, ms: 30 }, events, name));
      const slow = job('sleep', { dir, name: 'slow', ms: 600 }, events, 'slow');
      const behind = [job('noop', { i: 1 }, events, 'b1'), job('noop', { i: 2 }, events, 'b2')];
      const results = thread!.run([...quick, slow, ...behind]);
      const kinds = await Promise.all(results.map((result) => result.then((r) => r.kind)));
      assert.deepEqual(kinds, ['returned', 'returned', 'returned', 'returned', 'unstarted', 'unstarted']);
      assert.deepEqual(events, ['start q1', 'start q2', 'start q3', 'start slow']);
    } finally {
      await handing.close();
    }
  });

  it('a job that runs out of heap ends its thread alone: the jobs behind it never began', async () => {
    const events: string[] = [];
    const [thread] = pool.threads;
    const results: Array<Promise<RunResult>> = thread!.run([
      job('hog', { dir, name: 'hog' }, events, 'hog'),
      job('noop', { i: 0 }, events, 'behind1'),
      job('noop', { i: 0 }, events, 'behind2'),
    ]);
    const kinds = await Promise.all(results.map((result) => result.then((r) => r.kind)));
    assert.deepEqual(kinds, ['out-of-memory', 'unstarted', 'unstarted']);
    assert.deepEqual(events, ['start hog']);
    assert.equal(replaced, 1);
    const [fresh] = pool.threads;
    assert.notEqual(fresh, thread);
    const [after] = fresh!.run([job('noop', { i: 0 }, events, 'after')]);
    assert.equal((await after!).kind, 'returned');
  });

  it('terminated, it answers `terminated` for the running job and `unstarted` for the rest', async () => {
    const events: string[] = [];
    const [thread] = pool.threads;
    const results = thread!.run([
      job('sleep', { dir, name: 'stuck', ms: 10_000, ignore_abort: true }, events, 'stuck'),
      job('noop', { i: 0 }, events, 'behind'),
    ]);
    await thread!.terminate();
    const kinds = await Promise.all(results.map((result) => result.then((r) => r.kind)));
    assert.deepEqual(kinds, ['terminated', 'unstarted']);
  });
});
