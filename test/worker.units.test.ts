/**
 * The worker's parts in-process: backoff bounds, the task registry's parsing, the Cloud Logging
 * line format, and the embeddable `Worker` class on a real file queue (events, lease loss,
 * too many attempts, metrics and health endpoints).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { UserError } from '../lib/errors';
import { createQueue, openQueue, Queue } from '../lib/queue';
import { TaskMessageError } from '../lib/queue/errors';
import { encodeTask } from '../lib/queue/message';
import type { DeadLetter } from '../lib/queue/types';
import { defineTask } from '../lib/task';
import { Backoff, backoffDelay, retryDelaySeconds } from '../worker/backoff';
import { Heartbeat } from '../worker/lease';
import { createLogger, Logger } from '../worker/logger';
import { serveMetrics, workerMetrics } from '../worker/metrics';
import { loadTaskModule, TaskRegistry } from '../worker/registry';
import { WorkerOptionsError } from '../worker/options';
import { TaskEndedEvent, Worker, WorkerOptions } from '../worker/worker';
import { echoTask } from './fixtures/tasks';
import { eventually, FIXTURE_TASKS } from './support/workerProcess';

/** A logger whose lines land in an array, parsed. */
function memoryLogger(level: 'debug' | 'info' = 'info'): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({
    level,
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  return { log, lines };
}

describe('worker backoff', () => {
  it('grows exponentially, stays within [delay/2, delay] and never passes the cap', () => {
    const policy = { baseMs: 100, capMs: 10_000 };
    for (let step = 1; step <= 20; step++) {
      const full = Math.min(100 * 2 ** (step - 1), 10_000);
      assert.equal(
        backoffDelay(step, policy, () => 0),
        full / 2,
      );
      assert.equal(
        backoffDelay(step, policy, () => 1),
        full,
      );
    }
    const backoff = new Backoff(policy);
    const delays = Array.from({ length: 12 }, () => backoff.next());
    assert.ok(
      delays.every((d) => d >= 50 && d <= 10_000),
      String(delays),
    );
    assert.ok(delays[11]! >= 5000, 'reached the cap region');
    backoff.reset();
    assert.ok(backoff.next() <= 100);
  });

  it('spaces task retries 5 s, 10 s, 20 s, ... up to the cap, in whole seconds', () => {
    for (let i = 0; i < 50; i++) {
      const first = retryDelaySeconds(1);
      assert.ok(first >= 3 && first <= 5, String(first));
      const tenth = retryDelaySeconds(10);
      assert.ok(tenth >= 150 && tenth <= 300, String(tenth));
      assert.ok(Number.isInteger(retryDelaySeconds(3, 7)) && retryDelaySeconds(3, 7) <= 7);
    }
    assert.equal(retryDelaySeconds(4, 0), 0);
  });
});

describe('worker task registry', () => {
  const withCloudpath = defineTask({
    key: ['fixtures', 'wants_cloudpath'],
    params: z.object({ cloudpath: z.string(), n: z.number() }),
    run() {},
  });
  const registry = new TaskRegistry([echoTask, withCloudpath]);

  it('checks parameters with the task schema; the reserved cloudpath goes to the worker unless declared', () => {
    const plain = registry.parse(
      encodeTask(['fixtures', 'echo'], { name: 'a', value: 1, cloudpath: 'file:///x' }, 'q').body,
    );
    assert.deepEqual(plain.params, { name: 'a', value: 1 });
    assert.equal(plain.cloudpath, 'file:///x');
    const declared = registry.parse(
      encodeTask(['fixtures', 'wants_cloudpath'], { n: 2, cloudpath: 'gs://b/p' }, 'q').body,
    );
    assert.deepEqual(declared.params, { n: 2, cloudpath: 'gs://b/p' });
  });

  it('rejects unknown keys, bad parameters and malformed bodies with the reason and the culprit named', () => {
    const reasonOf = (body: string) => {
      try {
        registry.parse(body);
      } catch (error) {
        assert.ok(error instanceof TaskMessageError);
        return `${error.reason}: ${error.message}`;
      }
      return 'parsed';
    };
    assert.match(
      reasonOf(encodeTask(['fixtures', 'gone'], {}, 'q').body),
      /^UnknownTask: .*fixtures\.gone.*knows fixtures\.echo, fixtures\.wants_cloudpath/,
    );
    assert.match(
      reasonOf(encodeTask(['fixtures', 'echo'], { name: 'a' }, 'q').body),
      /^InvalidParams: task fixtures\.echo: .*\n.*\n.*at value/,
    );
    assert.match(
      reasonOf(encodeTask(['fixtures', 'echo'], { name: 'a', value: 1, cloudpath: 7 }, 'q').body),
      /^InvalidParams: .*"cloudpath" argument must be a string/,
    );
    assert.match(reasonOf('[1, 2]'), /^MalformedTask: /);
    // Strict for messages: a misspelt argument is refused, named, with the nearest known one.
    assert.match(
      reasonOf(encodeTask(['fixtures', 'echo'], { name: 'a', value: 1, valeu: 2 }, 'q').body),
      /^InvalidParams: .*\n✖ unknown argument "valeu" \(did you mean "value"\?\); the task takes name, value$/,
    );
    assert.match(
      reasonOf(encodeTask(['fixtures', 'echo'], { name: 'a', value: 1, zzzzzzzz: 2 }, 'q').body),
      /unknown argument "zzzzzzzz"; the task takes name, value$/,
    );
  });

  it('refuses duplicate keys and modules without a task list', () => {
    assert.throws(
      () => new TaskRegistry([echoTask, echoTask], 'here'),
      (e: unknown) => e instanceof UserError && /two tasks .* fixtures\.echo/.test(e.message),
    );
    assert.throws(() => new TaskRegistry([], 'here'), /registers no tasks/);
    assert.throws(() => loadTaskModule(path.join(__dirname, 'fixtures', 'tasks', 'none.ts')), /no such module/);
    assert.throws(() => loadTaskModule(path.join(__dirname, 'support', 'fauxqs.ts')), /does not export a tasks array/);
    const loaded = loadTaskModule(path.join(__dirname, 'fixtures', 'tasks', 'index.ts'));
    assert.deepEqual(loaded.keys.slice(0, 4), ['fixtures.sleep', 'fixtures.poison', 'fixtures.echo', 'fixtures.noop']);
    assert.equal(loaded.modulePath, FIXTURE_TASKS, 'the threads load the same module');
  });
});

describe('worker log format', () => {
  it('writes Cloud Logging fields: severity names, message, ISO time', () => {
    const { log, lines } = memoryLogger('debug');
    log.debug('d');
    log.info({ taskId: 't1' }, 'i');
    log.warn('w');
    log.error({ err: new Error('boom') }, 'e');
    assert.deepEqual(
      lines.map((line) => [line.severity, line.message]),
      [
        ['DEBUG', 'd'],
        ['INFO', 'i'],
        ['WARNING', 'w'],
        ['ERROR', 'e'],
      ],
    );
    assert.equal(lines[1]!.taskId, 't1');
    assert.ok(lines.every((line) => typeof line.time === 'string' && new Date(line.time).toISOString() === line.time));
    assert.equal((lines[3]!.err as { message: string }).message, 'boom');
    assert.ok(lines.every((line) => !('level' in line) && !('msg' in line)));
  });

  it('writes stdout once per event-loop turn, and everything pending when the process exits', () => {
    // 500 lines in one turn, then 5 more and an exit before the next turn: all 505 arrive, in two
    // writes (the child counts the lines in each fs.writeSync to stdout).
    const script = `
      const { createLogger } = require(${JSON.stringify(path.resolve(__dirname, '../worker/logger.ts'))});
      const log = createLogger({ pretty: false });
      const fs = require('node:fs');
      const writeSync = fs.writeSync;
      const sizes = [];
      fs.writeSync = (fd, data, ...rest) => {
        if (fd === 1) sizes.push(String(data).split('\\n').length - 1);
        return writeSync(fd, data, ...rest);
      };
      for (let i = 0; i < 500; i++) log.info({ i }, 'line');
      setImmediate(() => {
        for (let i = 500; i < 505; i++) log.info({ i }, 'line');
        process.on('exit', () => fs.writeFileSync(process.env.SIZES, JSON.stringify(sizes)));
        process.exit(3);
      });
    `;
    const sizesFile = path.join(tmpdir(), `log-sizes-${process.pid}.json`);
    const run = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, SIZES: sizesFile },
    });
    assert.equal(run.status, 3, run.stderr);
    const numbers = run.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { i: number }).i);
    assert.deepEqual(
      numbers,
      Array.from({ length: 505 }, (_, i) => i),
    );
    const sizes = JSON.parse(readFileSync(sizesFile, 'utf8')) as number[];
    rmSync(sizesFile);
    assert.deepEqual(sizes, [500, 5]);
  });
});

describe('Worker embedded on a file queue', function () {
  this.timeout(30_000);
  let dir: string;
  let queue: Queue;
  let cleanup: Array<() => Promise<unknown>>;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'worker-unit-'));
    queue = await openQueue(await createQueue(`fq://${path.join(dir, 'queue')}`));
    cleanup = [];
  });
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function worker(options: Partial<WorkerOptions> = {}): {
    worker: Worker;
    lines: Array<Record<string, unknown>>;
    ended: TaskEndedEvent[];
  } {
    const { log, lines } = memoryLogger('debug');
    const w = new Worker({
      queue,
      registry: loadTaskModule(FIXTURE_TASKS),
      defaultCloudpath: `file://${path.join(dir, 'out')}`,
      log,
      leaseSeconds: 30,
      maxAttempts: 3,
      idleBackoff: { baseMs: 20, capMs: 200 },
      ...options,
    });
    const ended: TaskEndedEvent[] = [];
    w.on('taskEnded', (event) => ended.push(event));
    cleanup.push(() => w.stop());
    return { worker: w, lines, ended };
  }

  it('aborts a task whose lease is lost and leaves it alone, never calling it a success', async () => {
    const { worker: watching, ended, lines } = worker({ leaseSeconds: 1 });
    await queue.insert([encodeTask(['fixtures', 'watch'], { dir, name: 'w' }, 'q')]);
    const done = watching.start();
    await eventually(
      'the task to start',
      () => watching.inFlight === 1 && lines.some((l) => l.message === 'task started'),
      10_000,
      20,
    );
    // Another party takes the task away (purge removes every task file): the next renewal fails.
    await queue.purge();
    await eventually('the lease loss', () => ended.length === 1, 10_000);
    // The task saw the abort and returned: completed, but after its lease was lost.
    assert.equal(ended[0]!.outcome, 'completed-lease-lost');
    assert.equal(readFileSync(path.join(dir, 'w.abort'), 'utf8'), 'LeaseLostError');
    assert.ok(lines.some((line) => line.severity === 'ERROR' && /lease lost/.test(String(line.message))));
    assert.ok(
      lines.some((line) => line.message === 'task completed after its lease was lost; it may run again'),
      JSON.stringify(lines),
    );
    assert.ok(!lines.some((line) => line.message === 'task succeeded'));
    await watching.stop();
    const summary = await done;
    assert.equal(summary.completedAfterLeaseLost, 1);
    assert.equal(summary.succeeded, 0);
  });

  it('refuses bad options with one error naming each, instead of clamping them', () => {
    assert.throws(
      () => worker({ concurrency: 0, leaseSeconds: 1.5, maxAttempts: -1, taskTimeoutSeconds: 0 }),
      (error: unknown) =>
        error instanceof WorkerOptionsError &&
        /concurrency=0: /.test(error.message) &&
        /leaseSeconds=1\.5: /.test(error.message) &&
        /maxAttempts=-1: /.test(error.message) &&
        /taskTimeoutSeconds=0: /.test(error.message),
    );
  });

  it("relays the task's log lines from its thread with the task id, name and attempt", async () => {
    const { worker: w, lines } = worker({ exitWhenEmpty: true });
    await queue.insert([encodeTask(['fixtures', 'log'], { text: 'hello' }, 'q')]);
    await w.start();
    const info = lines.find((line) => line.message === 'info: hello');
    const warn = lines.find((line) => line.message === 'warn: hello');
    assert.ok(info && warn, JSON.stringify(lines));
    assert.equal(info.severity, 'INFO');
    assert.equal(info.detail, 42);
    assert.equal(info.task, 'fixtures.log');
    assert.equal(info.attempt, 1);
    assert.equal(typeof info.taskId, 'string');
    assert.equal(warn.severity, 'WARNING');
    assert.equal(warn.part, 'inner');
  });

  it("warns as a lease nears the backend's ceiling and says when it cannot be extended", async () => {
    await queue.insert([encodeTask(['fixtures', 'noop'], { i: 1 }, 'q')]);
    const [leased] = await queue.lease({ count: 1, seconds: 1 });
    // The ceiling as SQS would report it (12 h after receipt), brought within reach of a test.
    const task = { ...leased!, leaseCeilingAt: Date.now() + 500 };
    const { log, lines } = memoryLogger('debug');
    const heartbeat = new Heartbeat({ queue, task, leaseSeconds: 1, log, onLost: () => assert.fail('lease lost') });
    heartbeat.start();
    await eventually('the ceiling error', () => lines.some((line) => line.severity === 'ERROR'), 5000, 20);
    const renewed = lines.filter((line) => line.message === 'lease renewed').length;
    await sleep(1000);
    await heartbeat.stop();
    assert.match(String(lines.find((line) => line.severity === 'WARNING')?.message), /nears the queue's lease limit/);
    assert.match(
      String(lines.find((line) => line.severity === 'ERROR')?.message),
      /cannot be extended past .*another worker will start it again/,
    );
    assert.equal(
      lines.filter((line) => line.message === 'lease renewed').length,
      renewed,
      'no renewal after the last possible one',
    );
    await queue.delete(heartbeat.task);
  });

  it('dead-letters a task leased more than --max-attempts times without running it', async () => {
    await queue.insert([encodeTask(['fixtures', 'sleep'], { dir, name: 'crashy', ms: 1 }, 'q')]);
    // Three leases that ended without an outcome, as when the worker running it is OOM-killed.
    for (let i = 0; i < 3; i++) {
      const [task] = await queue.lease({ count: 1, seconds: 30 });
      await queue.release(task!, 0);
    }
    const { worker: w, ended } = worker({ maxAttempts: 3, exitWhenEmpty: true });
    const summary = await w.start();
    assert.equal(summary.deadLettered, 1);
    assert.equal(ended[0]!.reason, 'TooManyAttempts');
    const dead: DeadLetter[] = [];
    for await (const letter of queue.listDeadLetters()) dead.push(letter);
    assert.equal(dead[0]!.failure!.attempts, 4);
    assert.match(dead[0]!.failure!.message, /leased 4 times \(TQ_MAX_ATTEMPTS=3\) without finishing/);
  });

  it('counts outcomes in /metrics and answers /healthz 200 while running, 503 once stopping', async () => {
    const { worker: w } = worker({ maxAttempts: 1 });
    const server = await serveMetrics(w, workerMetrics(w, { defaultMetrics: false }), 0, '127.0.0.1');
    cleanup.push(() => server.close());
    const get = async (route: string) => {
      const response = await fetch(`http://127.0.0.1:${server.port}${route}`);
      return { status: response.status, text: await response.text() };
    };
    assert.equal((await get('/healthz')).status, 503, 'not started yet');
    const done = w.start();
    assert.equal((await get('/healthz')).status, 200);
    await queue.insert([
      ...[1, 2, 3].map((value) => encodeTask(['fixtures', 'echo'], { name: `m${value}`, value }, 'q')),
      encodeTask(['fixtures', 'poison'], { dir, name: 'p', message: 'no' }, 'q'),
      encodeTask(['fixtures', 'echo'], { name: 'bad' }, 'q'),
    ]);
    await eventually('every task to settle', () => queue.isEmpty(), 10_000);
    await eventually('the last outcome', () => w.inFlight === 0, 5000);
    const metrics = (await get('/metrics')).text;
    assert.match(metrics, /^worker_tasks_succeeded_total 3$/m);
    assert.match(metrics, /^worker_tasks_failed_total 1$/m);
    assert.match(metrics, /^worker_tasks_retried_total 0$/m);
    assert.match(metrics, /^worker_tasks_dead_lettered_total\{reason="Error"\} 1$/m);
    assert.match(metrics, /^worker_tasks_dead_lettered_total\{reason="InvalidParams"\} 1$/m);
    assert.match(metrics, /^worker_task_duration_seconds_count 4$/m);
    assert.match(metrics, /^worker_tasks_in_flight 0$/m);
    assert.equal((await get('/nope')).status, 404);
    await w.stop();
    assert.equal((await get('/healthz')).status, 503);
    assert.equal((await done).succeeded, 3);
  });

  /** The most tasks whose `start`..`done` records (file times, written in the threads) overlap. */
  function peakRunning(names: readonly string[]): number {
    const edges = names.flatMap((name) => [
      { at: statSync(path.join(dir, `${name}.start`)).mtimeMs, step: 1 },
      { at: statSync(path.join(dir, `${name}.done`)).mtimeMs, step: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.step - b.step);
    let running = 0;
    let peak = 0;
    for (const edge of edges) peak = Math.max(peak, (running += edge.step));
    return peak;
  }

  it('runs up to --concurrency tasks at once, each in its own thread', async () => {
    const { worker: w } = worker({ concurrency: 4 });
    let firstStartAt = 0;
    let ended = 0;
    w.on('taskStarted', () => (firstStartAt ||= Date.now()));
    const names = Array.from({ length: 20 }, (_, i) => `c${i}`);
    // Inserted once every thread is loaded: threads that load at different times start at different times.
    const done = w.start();
    await once(w, 'threadsReady');
    await queue.insert(names.map((name) => encodeTask(['fixtures', 'sleep'], { dir, name, ms: 100 }, 'q')));
    const allEnded = new Promise<void>((resolve) => w.on('taskEnded', () => ++ended === names.length && resolve()));
    await allEnded;
    await w.stop();
    const summary = await done;
    assert.equal(summary.succeeded, 20);
    assert.equal(peakRunning(names), 4);
    // 20 tasks × 100 ms on 4 threads: well under the 2 s they would take one at a time.
    const ms = Date.now() - firstStartAt;
    assert.ok(ms < 1900, `${ms} ms`);
  });

  it("reports the main thread's CPU apart from the task threads' (CPU-bound tasks run on the latter)", async () => {
    const { worker: w } = worker({ concurrency: 2, exitWhenEmpty: true });
    await queue.insert(Array.from({ length: 6 }, () => encodeTask(['fixtures', 'primes'], { n: 400_000 }, 'q')));
    const summary = await w.start();
    assert.equal(summary.succeeded, 6);
    assert.ok(summary.cpuSeconds > 0.1, `${summary.cpuSeconds} CPU-s for six prime counts`);
    assert.ok(summary.mainThreadCpuSeconds > 0, 'the main thread did some work');
    assert.ok(
      summary.mainThreadCpuSeconds < summary.cpuSeconds / 2,
      `main thread ${summary.mainThreadCpuSeconds} of ${summary.cpuSeconds} CPU-s: the counting ran elsewhere`,
    );
  });

  it('sends short tasks ahead to a thread, and hands back those stuck behind a slow one', async () => {
    const { worker: w, ended } = worker({ concurrency: 2 });
    const noops = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => encodeTask(['fixtures', 'noop'], { i: from + i }, 'q'));
    await queue.insert(noops(0, 60));
    const done = w.start();
    await eventually('short tasks to run', () => ended.length >= 40, 10_000, 5);
    // Now a 3 s task, then more short ones: those that land behind it on its thread go to the other.
    await queue.insert([encodeTask(['fixtures', 'sleep'], { dir, name: 'slow', ms: 3000 }, 'q')]);
    const insertedAt = Date.now();
    await queue.insert(noops(60, 60));
    await eventually(
      'every short task',
      () => ended.filter((e) => e.task === 'fixtures.noop').length === 120,
      10_000,
      5,
    );
    const shortDoneMs = Date.now() - insertedAt;
    assert.ok(shortDoneMs < 2500, `the short tasks took ${shortDoneMs} ms: some waited for the slow one`);
    assert.ok(!ended.some((e) => e.task === 'fixtures.sleep'), 'the slow task is still running');
    assert.ok(ended.every((e) => e.outcome === 'succeeded' && e.attempt === 1));
    await eventually('the slow task', () => ended.length === 121, 10_000);
    await w.stop();
    assert.equal((await done).succeeded, 121);
  });

  it('leases ahead of free threads only as many tasks as they can start within half a lease', async () => {
    // 2 threads, 250 ms tasks, 2 s leases: 2 × 1000 ms / 250 ms = 8 tasks ahead at most, once one ran.
    const { worker: w } = worker({ concurrency: 2, leaseSeconds: 2, exitWhenEmpty: true });
    let peakHeld = 0;
    let firstHeld = 0;
    w.on('taskStarted', () => {
      peakHeld = Math.max(peakHeld, w.inFlight);
      firstHeld ||= w.inFlight;
    });
    const names = Array.from({ length: 24 }, (_, i) => `p${i}`);
    await queue.insert(names.map((name) => encodeTask(['fixtures', 'sleep'], { dir, name, ms: 250 }, 'q')));
    const summary = await w.start();
    assert.equal(summary.succeeded, 24);
    assert.ok(firstHeld <= 2, `held ${firstHeld} before any task had run`);
    // Threads (2) + prefetch (8) + at most the 2 just finished being deleted.
    assert.ok(peakHeld <= 12, `held ${peakHeld} at once`);
    assert.ok(peakHeld >= 5, `held only ${peakHeld}: no prefetch`);
    assert.equal(peakRunning(names), 2);
  });
});
