/**
 * The worker's round-trip savers on the real servers: batched deletes (Queue.deleteMany on SQS and
 * Pub/Sub, the worker's DeleteBatcher and its per-task results), long polls on every backend
 * that has them, including a shutdown while a Pub/Sub pull is under way, and lease calls in full
 * batches once tasks are seen to be short.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueue, openQueue, Queue, QueueError } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import type { LeasedTask } from '../lib/queue/types';
import { DeleteBatcher } from '../worker/deleteBatcher';
import { MAX_LEASE_BATCH } from '../worker/leaseLoop';
import { createLogger } from '../worker/logger';
import { assertWorkerOptions } from '../worker/options';
import { loadTaskModule } from '../worker/registry';
import { Worker } from '../worker/worker';
import { useFauxqs } from './support/fauxqs';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';
import { FIXTURE_TASKS } from './support/workerProcess';

const quietLog = () => createLogger({ level: 'warn', destination: { write: () => undefined } });

async function leaseAll(queue: Queue, count: number): Promise<LeasedTask[]> {
  const leased: LeasedTask[] = [];
  for (let tries = 0; leased.length < count && tries < 50; tries++) {
    leased.push(...(await queue.lease({ count: count - leased.length, seconds: 60, waitSeconds: 1 })));
  }
  assert.equal(leased.length, count, 'leased every task');
  return leased;
}

function noops(count: number) {
  return Array.from({ length: count }, (_, i) => encodeTask(['fixtures', 'noop'], { i }, 'batching'));
}

describe('batched deletes on SQS (fauxqs)', function () {
  this.timeout(60_000);
  useFauxqs();
  let n = 0;
  const fresh = async () => openQueue(await createQueue(`sqs://batching-${process.pid}-${++n}`));

  it('deleteMany removes more than one batch of tasks, one result per task', async () => {
    const queue = await fresh();
    try {
      await queue.insert(noops(13));
      const leased = await leaseAll(queue, 13);
      const results = await queue.deleteMany!(leased);
      assert.deepEqual(results, Array(13).fill(undefined));
      assert.equal(await queue.isEmpty(), true);
    } finally {
      await queue.close();
    }
  });

  it('a batch whose call fails fails every task in it with the queue error', async () => {
    const queue = await fresh();
    try {
      await queue.insert(noops(3));
      const leased = await leaseAll(queue, 3);
      await queue.purge();
      // Gone for real: SQS answers the whole call with QueueDoesNotExist.
      const admin = await import('@aws-sdk/client-sqs');
      const client = new admin.SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS, useQueueUrlAsEndpoint: false });
      await client.send(new admin.DeleteQueueCommand({ QueueUrl: queue.url }));
      client.destroy();
      const batcher = new DeleteBatcher(queue);
      const outcomes = await Promise.allSettled(leased.map((task) => batcher.delete(task)));
      for (const outcome of outcomes) {
        assert.equal(outcome.status, 'rejected');
        const error = (outcome as PromiseRejectedResult).reason as QueueError;
        assert.ok(error instanceof QueueError && error.code === 'QueueNotFound', String(error));
      }
    } finally {
      await queue.close();
    }
  });

  it("gives each task its own entry's result: one refused entry fails that task alone", async () => {
    const queue = await fresh();
    try {
      await queue.insert(noops(4));
      const leased = await leaseAll(queue, 4);
      // fauxqs (like SQS for stale handles) accepts every receipt handle, so no server here refuses one
      // entry of a batch: this queue passes the batch to the real server and reports its 3rd entry refused.
      const refusing: Queue = Object.assign(Object.create(queue) as Queue, {
        async deleteMany(tasks: readonly LeasedTask[]) {
          const results = await queue.deleteMany!(tasks);
          return results.map((result, i) =>
            tasks[i] === leased[2] ? new QueueError('LeaseLost', `task ${tasks[i]!.id}: refused`) : result,
          );
        },
      });
      let calls = 0;
      const counting: Queue = Object.assign(Object.create(refusing) as Queue, {
        deleteMany: (tasks: readonly LeasedTask[]) => (calls++, refusing.deleteMany!(tasks)),
      });
      const batcher = new DeleteBatcher(counting);
      const outcomes = await Promise.allSettled(leased.map((task) => batcher.delete(task)));
      assert.equal(calls, 1, 'one call for the four deletes');
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
      );
      assert.equal(((outcomes[2] as PromiseRejectedResult).reason as QueueError).code, 'LeaseLost');
    } finally {
      await queue.close();
    }
  });

  it('a worker drains the queue with batched deletes and long polls', async () => {
    const queue = await fresh();
    const dir = mkdtempSync(path.join(tmpdir(), 'worker-batching-'));
    try {
      await queue.insert(noops(60));
      const worker = new Worker({
        queue,
        registry: loadTaskModule(FIXTURE_TASKS),
        defaultCloudpath: `file://${dir}`,
        log: quietLog(),
        leaseSeconds: 30,
        maxAttempts: 3,
        concurrency: 2,
        exitWhenEmpty: true,
      });
      const summary = await worker.start();
      assert.equal(summary.succeeded, 60);
      assert.equal(await queue.isEmpty(), true);
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('lease calls for short tasks (file queue)', function () {
  this.timeout(60_000);

  it('leases full batches once tasks are short, not one task per finished task', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'worker-lease-batches-'));
    const queue = await openQueue(await createQueue(`fq://${path.join(dir, 'queue')}`));
    const asked: number[] = [];
    const lease = queue.lease.bind(queue);
    queue.lease = (options) => {
      asked.push(options.count);
      return lease(options);
    };
    try {
      await queue.insert(noops(600));
      const worker = new Worker({
        queue,
        registry: loadTaskModule(FIXTURE_TASKS),
        defaultCloudpath: `file://${dir}/out`,
        log: quietLog(),
        leaseSeconds: 60,
        maxAttempts: 3,
        concurrency: 1,
        exitWhenEmpty: true,
      });
      const summary = await worker.start();
      assert.equal(summary.succeeded, 600);
      // Before the first task has run nothing is prefetched (one task at a time); after, batches of 10.
      const full = asked.filter((count) => count === MAX_LEASE_BATCH).length;
      assert.ok(asked.length < 600 / 5, `${asked.length} lease calls for 600 tasks: ${asked.join(',')}`);
      assert.ok(full >= 0.8 * asked.length, `${full} of ${asked.length} calls asked for a full batch`);
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('long polls and batched acks on Pub/Sub (pstest)', function () {
  this.timeout(60_000);
  useToolServer('pstest', startPstest);
  let n = 0;
  const fresh = async () => openQueue(await createQueue(`pubsub://batching/b-${process.pid}-${++n}`));

  it('the worker long-polls Pub/Sub as it does SQS (never the file queue)', async () => {
    const queue = await fresh();
    const dir = mkdtempSync(path.join(tmpdir(), 'worker-batching-'));
    try {
      const base = {
        registry: loadTaskModule(FIXTURE_TASKS),
        defaultCloudpath: `file://${dir}`,
        log: quietLog(),
        leaseSeconds: 30,
        maxAttempts: 3,
      };
      assert.equal(assertWorkerOptions({ ...base, queue }).pollWaitSeconds, 20);
      assert.equal(assertWorkerOptions({ ...base, queue, exitWhenEmpty: true }).pollWaitSeconds, 1);
      const fq = await openQueue(await createQueue(`fq://${dir}/fq`));
      assert.equal(assertWorkerOptions({ ...base, queue: fq, pollWaitSeconds: 20 }).pollWaitSeconds, 0);
      await fq.close();
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deleteMany acknowledges many tasks at once', async () => {
    const queue = await fresh();
    try {
      await queue.insert(noops(12));
      const leased = await leaseAll(queue, 12);
      assert.deepEqual(await queue.deleteMany!(leased), Array(12).fill(undefined));
      assert.deepEqual(await queue.lease({ count: 10, seconds: 30 }), []);
    } finally {
      await queue.close();
    }
  });

  it('stops promptly during a long poll; a task the pull brings after stop is released at once', async () => {
    const queue = await fresh();
    const dir = mkdtempSync(path.join(tmpdir(), 'worker-batching-'));
    try {
      const worker = new Worker({
        queue,
        registry: loadTaskModule(FIXTURE_TASKS),
        defaultCloudpath: `file://${dir}`,
        log: quietLog(),
        leaseSeconds: 60,
        maxAttempts: 3,
        graceSeconds: 5,
      });
      const done = worker.start();
      await new Promise((resolve) => setTimeout(resolve, 1500)); // the worker is in a pull now
      const stopped = worker.stop();
      await queue.insert(noops(1)); // lands in the pull that is under way
      const startedStop = Date.now();
      await stopped;
      const summary = await done;
      assert.ok(Date.now() - startedStop < 7000, `stopped after ${Date.now() - startedStop} ms`);
      assert.equal(summary.succeeded, 0, 'nothing runs after stop');
      // Released, not left leased for 60 s: another lease gets it now.
      const again = await leaseAll(queue, 1);
      assert.equal(again.length, 1);
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
