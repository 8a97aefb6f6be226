/**
 * Interop with python-task-queue's own Pub/Sub backend (`pubsub://projects/P/topics/T/subscriptions/S`,
 * the real library in the test venv, google-cloud-pubsub underneath) on Google's pstest: Python
 * inserts → our worker drains; our inserts → a Python `poll` worker drains. What that backend
 * cannot do (count, honour a lease length) is in docs/queue.md.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQueue, openQueue, Queue } from '../lib/queue';
import { decodeTask, encodeTask } from '../lib/queue/message';
import { expectedOutput } from './fixtures/tasks/interop';
import { requirePtq, runPtq } from './support/ptq';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';
import { startWorker } from './support/workerProcess';

const PROJECT = 'interop-tests';
const ACK_DEADLINE_SECONDS = 10;
const INTEROP_TASKS = path.resolve(__dirname, 'fixtures', 'tasks', 'interop.ts');

describe('python-task-queue interop: Pub/Sub (pstest)', function () {
  this.timeout(120_000);
  const pstest = useToolServer('pstest', startPstest);
  let python: string;
  let n = 0;
  let url: string;
  let queue: Queue;
  let dir: string;
  before(function () {
    python = requirePtq(this);
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-pubsub-'));
    // python-task-queue only takes the long form; ours prints it as the queue's URL.
    // A 10 s ack deadline (Pub/Sub's least): python-task-queue's lease() ignores its `seconds`
    // and gets the subscription's deadline, so a task it failed to ack is back within 10 s.
    url = await createQueue(`pubsub://${PROJECT}/ptq-interop-${process.pid}-${++n}`, {
      visibilityTimeoutSeconds: ACK_DEADLINE_SECONDS,
    });
    assert.match(url, /^pubsub:\/\/projects\/[^/]+\/topics\/[^/]+\/subscriptions\/[^/]+$/);
    queue = await openQueue(url);
  });
  afterEach(async () => {
    await queue.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = () => pstest.server.env;
  const runs = (i: number) =>
    fs
      .readFileSync(path.join(dir, `${i}.runs`), 'utf8')
      .trim()
      .split('\n');

  it('Python inserts (kwargs, no task id) are known by their message id and drained by our worker', async () => {
    await runPtq(python, 'ptq_interop.py', ['insert', url, '2', dir, 'gs://bucket/run'], env());
    const leased = [];
    for (let tries = 0; leased.length < 2 && tries < 20; tries++) {
      leased.push(...(await queue.lease({ count: 2 - leased.length, seconds: 30, waitSeconds: 1 })));
    }
    assert.equal(leased.length, 2);
    // No taskId attribute: known by the Pub/Sub message id (pstest's look like "m0").
    assert.ok(
      leased.every((task) => task.id !== '') && leased[0]!.id !== leased[1]!.id,
      `ids ${leased.map((t) => t.id)}`,
    );
    for (const task of leased) {
      assert.equal(JSON.parse(task.body).id, undefined, 'python-task-queue sends no id');
      const envelope = decodeTask(task.body, task.id);
      assert.deepEqual(envelope.key, ['ptq_tasks', 'record']);
      assert.equal(envelope.kwargs.cloudpath, 'gs://bucket/run');
      await queue.release(task);
    }
    // Released (deadline 0), they come back at once; ack them (ptq_tasks.record is Python's only).
    for (let tries = 0, acked = 0; acked < 2 && tries < 20; tries++) {
      for (const task of await queue.lease({ count: 2, seconds: 30, waitSeconds: 1 })) {
        await queue.delete(task);
        acked++;
      }
    }

    // The same task on both sides: Python inserts, our worker (a real process) runs them all.
    await runPtq(python, 'ptq_interop.py', ['insert-output', url, '0', '12', dir, '20'], env());
    const worker = await startWorker(
      ['--queue', url, '--cloudpath', `file://${dir}/cloud`, '--tasks', INTEROP_TASKS, '--exit-when-empty'],
      env(),
    );
    const exit = await worker.waitForExit(90_000);
    assert.equal(exit.code, 0, worker.describe());
    assert.equal(Number(worker.summary()?.succeeded), 12, worker.describe());
    for (let i = 0; i < 12; i++) {
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, `${i}.json`), 'utf8')), expectedOutput(i));
      assert.deepEqual(
        runs(i).map((line) => line.split(' ')[0]),
        ['ours'],
      );
    }
    assert.deepEqual(await queue.lease({ count: 10, seconds: 30, waitSeconds: 1 }), [], 'all acked');
  });

  it('a Python poll worker drains our inserts and acks them', async () => {
    await queue.insert(
      Array.from({ length: 15 }, (_, i) => encodeTask(['ptq_tasks', 'output'], { i, out: dir, ms: 10 }, url)),
    );
    const run = await runPtq(python, 'ptq_interop.py', ['poll', url], env(), 90_000);
    assert.equal(JSON.parse(run.stdout.trim().split('\n').pop()!).executed, 15, run.stdout + run.stderr);
    for (let i = 0; i < 15; i++) {
      assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, `${i}.json`), 'utf8')), expectedOutput(i));
      assert.deepEqual(
        runs(i).map((line) => line.split(' ')[0]),
        ['python'],
      );
    }
    // Acked by Python: nothing comes back once every lease it took has run out. It stops after
    // 3 s without a task, so its last pull is that old; wait out the rest of the deadline.
    await sleep((ACK_DEADLINE_SECONDS - 3 + 1) * 1000);
    assert.deepEqual(await queue.lease({ count: 10, seconds: 30, waitSeconds: 1 }), []);
  });
});
