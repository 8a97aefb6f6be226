/**
 * Worker scenarios as real processes against a real queue, run once per backend. Tasks come from
 * test/fixtures/tasks and record every execution in a temp dir, so each test can count exactly
 * how often, by which process and on which attempt a task ran.
 */
import { DELETE_BATCH } from '../../worker/deleteBatcher';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQueue, openQueue, Queue } from '../../lib/queue';
import { encodeTask, TaskKey } from '../../lib/queue/message';
import type { DeadLetter, LeasedTask } from '../../lib/queue/types';
import { freePort, useFauxqs } from './fauxqs';
import {
  countRecords,
  eventually,
  executions,
  FIXTURE_TASKS,
  killAllWorkers,
  SLOW_LOADING_TASKS,
  spawnWorker,
  startWorker,
  WorkerProcess,
} from './workerProcess';

let serial = 0;

/** Probes GET /healthz every 50 ms while `keepGoing()`; resolves with the 95th percentile and slowest answer times. */
async function probeWhile(
  port: number,
  keepGoing: () => boolean,
): Promise<{ p95: number; max: number; count: number }> {
  const times: number[] = [];
  while (keepGoing()) {
    const sent = performance.now();
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    await response.text();
    assert.equal(response.status, 200);
    times.push(performance.now() - sent);
    await sleep(50);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0);
  return { p95: at(0.95), max: at(1), count: times.length };
}

/**
 * The worker's behaviour as real processes on one backend; `test/worker.fq.test.ts` and
 * `test/worker.sqs.test.ts` run it on the file queue and on SQS (fauxqs).
 */
export function describeWorkerProcesses(backend: 'fq' | 'sqs'): void {
  describe(`worker processes on ${backend === 'fq' ? 'the file queue' : 'SQS (fauxqs)'}`, function () {
    this.timeout(60_000);
    const fauxqs = backend === 'sqs' ? useFauxqs() : undefined;
    let dir: string;
    let url: string;
    let queue: Queue;

    beforeEach(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'worker-test-'));
      const name = `worker-test-${process.pid}-${++serial}`;
      // maxReceiveCount well above --max-attempts: the worker dead-letters, not SQS's redrive.
      url = await createQueue(backend === 'fq' ? `fq://${path.join(dir, 'queue')}` : `sqs://${name}`, {
        maxReceiveCount: 100,
      });
      queue = await openQueue(url);
    });

    afterEach(async () => {
      await killAllWorkers();
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const env = (): Record<string, string> => fauxqs?.server.env ?? {};
    /** Common flags: this queue, outputs under the temp dir, the fixture tasks. */
    const flags = (...extra: string[]) => [
      '--queue',
      url,
      '--cloudpath',
      `file://${path.join(dir, 'out')}`,
      '--tasks',
      FIXTURE_TASKS,
      ...extra,
    ];
    const start = (...extra: string[]) => startWorker(flags(...extra), env());

    async function insert(key: TaskKey, kwargs: Record<string, unknown>[]): Promise<void> {
      assert.equal(await queue.insert(kwargs.map((k) => encodeTask(key, k, 'worker-test'))), kwargs.length);
    }

    const sleepTask = (name: string, ms: number, more: Record<string, unknown> = {}) => ({ dir, name, ms, ...more });

    /** Leases the one task that should be visible now, polling for at most `withinMs`. */
    async function leaseVisible(withinMs: number): Promise<LeasedTask> {
      return eventually(
        'the task to be leasable',
        async () => (await queue.lease({ count: 1, seconds: 30 }))[0],
        withinMs,
        50,
      );
    }

    it('runs a busy loop of 10× its lease once, three workers competing; /healthz answers meanwhile', async () => {
      const ports = await Promise.all([freePort(), freePort(), freePort()]);
      const workers = await Promise.all(
        ports.map((port) => start('--lease', '1', '--log-level', 'debug', '--metrics-port', String(port))),
      );
      await insert(['fixtures', 'spin'], [{ dir, name: 'busy', ms: 10_000 }]);
      const runner = await eventually(
        'a worker to start the task',
        () => {
          const index = workers.findIndex((worker) => worker.logs.some((line) => line.message === 'task started'));
          return index >= 0 ? index : undefined;
        },
        10_000,
        20,
      );
      // The task never yields, yet the worker running it answers its probe at once, throughout (a
      // task on the main thread made it wait seconds). The bounds leave room for a shared machine.
      const probes = await probeWhile(ports[runner]!, () => executions(dir, 'busy', 'done').length === 0);
      const seen = `/healthz p95 ${probes.p95} ms, slowest ${probes.max} ms (${probes.count} probes)`;
      assert.ok(probes.p95 < 100 && probes.max < 1000, seen);
      assert.ok(probes.count >= 20, seen);
      await eventually('the queue to be empty', () => queue.isEmpty(), 10_000);
      // A moment for a second execution's start record to land, had another worker leased it.
      await sleep(1500);
      assert.equal(executions(dir, 'busy', 'start').length, 1, 'started once');
      assert.equal(executions(dir, 'busy', 'done').length, 1, 'finished once');
      const renewals = workers.flatMap((worker) => worker.logs.filter((line) => line.message === 'lease renewed'));
      assert.ok(renewals.length >= 20, `${renewals.length} renewals`);
      for (const worker of workers) worker.signal('SIGTERM');
      const exits = await Promise.all(workers.map((worker) => worker.waitForExit()));
      assert.deepEqual(
        exits.map((exit) => exit.code),
        [0, 0, 0],
      );
      assert.deepEqual(workers.map((worker) => Number(worker.summary()?.succeeded)).sort(), [0, 0, 1]);
      const counts = await queue.counts();
      if (counts.completed !== undefined) assert.equal(counts.completed, 1, 'deleted once');
      assert.ok(
        workers.every((worker) => !worker.logs.some((line) => line.severity === 'ERROR')),
        'no errors logged',
      );
    });

    it('leases while its threads load the tasks; a task leased then keeps its 1 s lease and runs once', async () => {
      await insert(['fixtures', 'sleep'], [sleepTask('early', 10)]);
      const worker = spawnWorker(
        flags('--tasks', SLOW_LOADING_TASKS, '--lease', '1', '--log-level', 'debug', '--exit-when-empty'),
        env(),
      );
      const exit = await worker.waitForExit(30_000);
      assert.equal(exit.code, 0, worker.describe());
      assert.deepEqual(
        executions(dir, 'early', 'done').map((run) => run.attempt),
        [1],
        'ran once, on its first lease',
      );
      const messages = worker.logs.map((line) => line.message);
      const renewed = messages.indexOf('lease renewed');
      const ready = messages.indexOf('task threads ready');
      assert.ok(messages.indexOf('worker started') < renewed, 'worker started is logged as leasing begins');
      assert.ok(renewed >= 0 && renewed < ready, 'leased and renewed while threads load');
      // The ready line says what loading cost: ≥ the fixture's 2.5 s, with CPU figures beside it.
      const started = worker.logs[ready]!;
      assert.ok(Number(started.threadsLoadSeconds) >= 2.4, `threadsLoadSeconds ${started.threadsLoadSeconds}`);
      assert.ok(Number(started.cpuSeconds) >= Number(started.mainThreadCpuSeconds), JSON.stringify(started));
      assert.equal(worker.summary()?.succeeded, 1);
      assert.ok(
        !worker.logs.some((line) => line.severity === 'ERROR' || line.severity === 'WARNING'),
        worker.describe(),
      );
    });

    it('on SIGTERM with a task that never yields: exits within grace + 2 s, the task visible at once', async () => {
      const worker = await start('--lease', '30', '--grace-seconds', '1');
      await insert(['fixtures', 'spin'], [{ dir, name: 'forever', ms: 600_000 }]);
      const started = await worker.waitForLog((line) => line.message === 'task started');
      const signalledAt = Date.now();
      worker.signal('SIGTERM');
      const exit = await worker.waitForExit(15_000);
      const exitedAfterMs = Date.now() - signalledAt;
      assert.equal(exit.code, 0, worker.describe());
      assert.ok(exitedAfterMs <= 1000 + 2000, `exited ${exitedAfterMs} ms after SIGTERM, grace 1 s`);
      // The lease was 30 s: only the release can make it visible this soon.
      const task = await leaseVisible(500);
      assert.equal(task.id, started.taskId);
      assert.equal(worker.summary()?.released, 1);
    });

    it('dead-letters only the task that runs out of heap, after its attempts; the other three complete', async () => {
      await insert(
        ['fixtures', 'sleep'],
        [1, 2, 3, 4, 5, 6].map((i) => sleepTask(`fine${i}`, 1500)),
      );
      await insert(['fixtures', 'hog'], [{ dir, name: 'hog' }]);
      const worker = spawnWorker(
        flags(
          ...['--concurrency', '4', '--task-heap-mb', '64', '--max-attempts', '2', '--max-retry-delay', '1'],
          ...['--lease', '10', '--exit-when-empty'],
        ),
        env(),
      );
      const exit = await worker.waitForExit(45_000);
      assert.equal(exit.code, 0, worker.describe());
      for (let i = 1; i <= 6; i++) assert.equal(executions(dir, `fine${i}`, 'done').length, 1, `fine${i}`);
      assert.equal(executions(dir, 'hog', 'start').length, 2);
      const dead: DeadLetter[] = [];
      for await (const letter of queue.listDeadLetters()) dead.push(letter);
      assert.equal(dead.length, 1, JSON.stringify(dead));
      assert.equal(dead[0]!.failure?.reason, 'OutOfMemory');
      assert.equal(dead[0]!.failure?.attempts, 2);
      assert.match(dead[0]!.failure!.message, /heap limit is 64 MB/);
      assert.equal(worker.summary()?.succeeded, 6);
    });

    it('aborts, then terminates a task past --task-timeout: a failed attempt, dead-lettered at the last', async () => {
      await insert(['fixtures', 'spin'], [{ dir, name: 'slow', ms: 600_000 }]);
      const worker = spawnWorker(
        flags(
          '--task-timeout',
          '1',
          '--max-attempts',
          '2',
          '--max-retry-delay',
          '1',
          '--lease',
          '10',
          '--exit-when-empty',
        ),
        env(),
      );
      const exit = await worker.waitForExit(30_000);
      assert.equal(exit.code, 0, worker.describe());
      assert.equal(executions(dir, 'slow', 'start').length, 2);
      const dead: DeadLetter[] = [];
      for await (const letter of queue.listDeadLetters()) dead.push(letter);
      assert.equal(dead[0]?.failure?.reason, 'TaskTimeout', JSON.stringify(dead));
      assert.match(
        dead[0]!.failure!.message,
        /longer than TQ_TASK_TIMEOUT_SECONDS=1 s; it was aborted and, as it did not return, terminated/,
      );
      const retried = worker.logs.find((line) => line.outcome === 'retried');
      assert.match(String(retried?.message), /ran past its 1 s timeout, attempt 1 of 2\); retrying/);
      assert.deepEqual([worker.summary()?.failed, worker.summary()?.deadLettered], [2, 1]);
    });

    it('on SIGTERM lets a running task finish within the grace period; /healthz turns 503', async () => {
      const port = await freePort();
      const worker = await start('--lease', '30', '--grace-seconds', '20', '--metrics-port', String(port));
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      await insert(['fixtures', 'sleep'], [sleepTask('graceful', 1500)]);
      await worker.waitForLog((line) => line.message === 'task started');
      worker.signal('SIGTERM');
      await worker.waitForLog((line) => String(line.message).startsWith('stopping'));
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 503);
      const exit = await worker.waitForExit(15_000);
      assert.equal(exit.code, 0, worker.describe());
      assert.equal(executions(dir, 'graceful', 'done').length, 1);
      assert.equal(await queue.isEmpty(), true);
      assert.equal(worker.summary()?.succeeded, 1);
      assert.equal(worker.summary()?.released, 0);
    });

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      it(`on ${signal} past the grace period aborts the task, releases it at once and exits 0`, async () => {
        const worker = await start('--lease', '30', '--grace-seconds', '1');
        await insert(['fixtures', 'sleep'], [sleepTask('aborted', 20_000)]);
        const started = await worker.waitForLog((line) => line.message === 'task started');
        const signalledAt = Date.now();
        worker.signal(signal);
        const exit = await worker.waitForExit(15_000);
        const exitedAfterMs = Date.now() - signalledAt;
        assert.equal(exit.code, 0, worker.describe());
        assert.ok(exitedAfterMs < 1000 + 6000, `exited ${exitedAfterMs} ms after ${signal}, grace 1 s`);
        // The lease was 30 s: only the release can make it visible this soon.
        const task = await leaseVisible(1000);
        assert.equal(task.id, started.taskId);
        assert.equal(task.attempt, 2);
        assert.equal(executions(dir, 'aborted', 'start').length, 1);
        assert.equal(executions(dir, 'aborted', 'done').length, 0, 'the abort signal stopped the task');
        assert.equal(worker.summary()?.released, 1);
      });
    }

    it('on a second signal releases a task that ignores its abort signal and exits at once', async () => {
      const worker = await start('--lease', '30', '--grace-seconds', '30');
      await insert(['fixtures', 'sleep'], [sleepTask('stubborn', 25_000, { ignore_abort: true })]);
      const started = await worker.waitForLog((line) => line.message === 'task started');
      worker.signal('SIGTERM');
      await worker.waitForLog((line) => String(line.message).startsWith('stopping'));
      await sleep(300);
      assert.ok(worker.running, 'still in its grace period');
      const signalledAt = Date.now();
      worker.signal('SIGTERM');
      const exit = await worker.waitForExit(15_000);
      assert.equal(exit.code, 0, worker.describe());
      assert.ok(Date.now() - signalledAt < 6000, 'exited well within the 30 s grace');
      const task = await leaseVisible(1000);
      assert.equal(task.id, started.taskId);
      assert.equal(worker.summary()?.released, 1);
    });

    it('kill -9 during 300 tasks: restarted workers finish all; only killed in-flight ones ran twice', async () => {
      const total = 300;
      await insert(
        ['fixtures', 'sleep'],
        Array.from({ length: total }, (_, i) => sleepTask(`k${i}`, 30)),
      );
      const args = ['--lease', '2', '--concurrency', '2', '--exit-when-empty'];
      const first = await Promise.all([start(...args), start(...args)]);
      const killed = new Set<number>();
      const replacements: WorkerProcess[] = [];
      for (const [index, victim] of first.entries()) {
        await eventually('progress before the kill', () => countRecords(dir, 'done') >= (index + 1) * 80, 30_000, 20);
        assert.ok(victim.running, 'the worker was still running when killed');
        victim.signal('SIGKILL');
        killed.add(victim.pid);
        replacements.push(spawnWorker(flags(...args), env()));
      }
      for (const worker of replacements) assert.equal((await worker.waitForExit(45_000)).code, 0, worker.describe());

      let ranTwice = 0;
      for (let i = 0; i < total; i++) {
        const starts = executions(dir, `k${i}`, 'start');
        assert.ok(executions(dir, `k${i}`, 'done').length >= 1, `task k${i} finished`);
        // Every execution but the last was cut short by a kill (or finished but was not yet deleted).
        for (const run of starts.slice(0, -1))
          assert.ok(killed.has(run.pid), `task k${i} ran twice though pid ${run.pid} was not killed`);
        if (starts.length > 1) ranTwice++;
      }
      // Per killed worker: its 2 running tasks, and finished tasks whose delete had not returned yet:
      // on SQS up to a DeleteMessageBatch (worker/deleteBatcher.ts), on fq those on the file
      // queue's thread (lib/queue/fileQueueThread.ts), at most one per slot.
      const perKill = 2 + (backend === 'sqs' ? DELETE_BATCH : 2);
      assert.ok(ranTwice <= 2 * perKill, `${ranTwice} tasks ran twice; at most 2 killed workers × ${perKill} may`);
      const counts = await queue.counts();
      assert.equal(counts.enqueued, 0);
      if (counts.completed !== undefined) {
        // A delete is unlinks, then the tally byte (python-task-queue's order): a kill -9 between
        // them completes the task without counting it, at most once per killed worker.
        assert.ok(
          counts.completed <= total && counts.completed >= total - killed.size,
          `completed ${counts.completed} of ${total} with ${killed.size} kills`,
        );
      }
    });

    it('dead-letters a poison task after --max-attempts and bad messages at once, while the rest finish', async () => {
      const otherOutputs = path.join(dir, 'elsewhere');
      await insert(
        ['fixtures', 'sleep'],
        [1, 2, 3, 4, 5].map((i) => sleepTask(`ok${i}`, 10)),
      );
      await insert(['fixtures', 'poison'], [{ dir, name: 'poison', message: 'poisoned on purpose' }]);
      await insert(['fixtures', 'permanent'], [{ dir, name: 'permanent', message: 'cannot ever work' }]);
      await insert(
        ['fixtures', 'echo'],
        [
          { name: 'here', value: 1 },
          { name: 'there', value: 2, cloudpath: `file://${otherOutputs}` },
        ],
      );
      await insert(['fixtures', 'echo'], [{ name: 'bad', value: 'not a number' }]);
      await insert(['fixtures', 'missing'], [{ name: 'unknown' }]);
      assert.equal(await queue.insert([{ id: 'not-a-task', body: '{"this is": "not a task"}' }]), 1);

      const worker = spawnWorker(
        flags('--max-attempts', '3', '--max-retry-delay', '1', '--lease', '10', '--exit-when-empty'),
        env(),
      );
      const exit = await worker.waitForExit(45_000);
      assert.equal(exit.code, 0, worker.describe());

      assert.deepEqual(
        executions(dir, 'poison', 'start').map((run) => run.attempt),
        [1, 2, 3],
      );
      for (let i = 1; i <= 5; i++) assert.equal(executions(dir, `ok${i}`, 'done').length, 1);
      const here = JSON.parse(readFileSync(path.join(dir, 'out', 'echo', 'here.json'), 'utf8')) as {
        params: unknown;
        attempt: number;
      };
      assert.deepEqual(here.params, { name: 'here', value: 1 });
      assert.equal(here.attempt, 1);
      // The message's own cloudpath wins over CF_CLOUDPATH.
      assert.deepEqual(
        (JSON.parse(readFileSync(path.join(otherOutputs, 'echo', 'there.json'), 'utf8')) as { params: unknown }).params,
        { name: 'there', value: 2 },
      );

      const dead: DeadLetter[] = [];
      for await (const letter of queue.listDeadLetters()) dead.push(letter);
      const byReason = new Map(dead.map((letter) => [letter.failure?.reason, letter]));
      assert.deepEqual(
        [...byReason.keys()].sort(),
        ['Error', 'InvalidParams', 'MalformedTask', 'PermanentError', 'UnknownTask'],
        JSON.stringify(dead, null, 2),
      );
      const poison = byReason.get('Error')!.failure!;
      assert.equal(poison.message, 'poisoned on purpose');
      assert.equal(poison.attempts, 3);
      assert.match(poison.stack ?? '', /poisoned on purpose[\s\S]*fixtures/);
      assert.match(poison.worker, new RegExp(`:${worker.pid}$`));
      assert.ok(Math.abs(Date.parse(poison.failedAt) - Date.now()) < 60_000, poison.failedAt);
      assert.match(byReason.get('InvalidParams')!.failure!.message, /value/);
      // A PermanentError is dead-lettered on its first attempt, stack and all.
      assert.deepEqual(
        executions(dir, 'permanent', 'start').map((run) => run.attempt),
        [1],
      );
      assert.equal(byReason.get('PermanentError')!.failure!.attempts, 1);
      assert.match(byReason.get('PermanentError')!.failure!.stack ?? '', /cannot ever work[\s\S]*fixtures/);
      assert.match(byReason.get('UnknownTask')!.failure!.message, /fixtures\.missing/);
      assert.match(byReason.get('MalformedTask')!.failure!.message, /^malformed task message: /);
      assert.equal(
        (JSON.parse(byReason.get('MalformedTask')!.body) as Record<string, unknown>)['this is'],
        'not a task',
      );

      const summary = worker.summary()!;
      assert.deepEqual(
        {
          succeeded: summary.succeeded,
          failed: summary.failed,
          retried: summary.retried,
          deadLettered: summary.deadLettered,
        },
        { succeeded: 7, failed: 4, retried: 2, deadLettered: 5 },
      );
      assert.equal(await queue.isEmpty(), true);
    });
  });
}
