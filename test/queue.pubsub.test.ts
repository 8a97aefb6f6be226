/**
 * What the Pub/Sub backend does beyond the shared contract, on Google's pstest: the resources
 * queue:create makes (and makes again without harm), Pub/Sub's own dead-letter forwarding after
 * maxDeliveryAttempts, a failure record longer than one attribute, the 600 s lease limit, drain
 * detection by empty pulls, and python-task-queue's URL form on a subscription it did not name.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub, v1 } from '@google-cloud/pubsub';
import { createQueue, DeadLetter, LeasedTask, openQueue, Queue, QueueError } from '../lib/queue';
import { EMPTY_PULLS_TO_DRAIN } from '../lib/queue/pubsubQueue';
import { pubsubClientOptions } from '../lib/queue/pubsubClient';
import { encodeTask } from '../lib/queue/message';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';

const PROJECT = 'pubsub-tests';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function leaseOne(queue: Queue, seconds: number, timeoutMs = 10_000): Promise<LeasedTask> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [task] = await queue.lease({ count: 1, seconds, waitSeconds: 1 });
    if (task) return task;
  }
  assert.fail('no task to lease');
}

describe('Pub/Sub client options', () => {
  it('reach PUBSUB_EMULATOR_HOST where the handwritten client does, over plaintext unless it is Google', () => {
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    try {
      for (const value of ['127.0.0.1:8085', 'http://localhost:8681/', 'europe-west1-pubsub.googleapis.com:443']) {
        process.env.PUBSUB_EMULATOR_HOST = value;
        const theirs = new PubSub({ projectId: PROJECT }).options;
        const ours = pubsubClientOptions(PROJECT);
        assert.deepEqual([ours.servicePath, ours.port], [theirs.servicePath, theirs.port], value);
        assert.equal(ours.sslCreds === undefined, theirs.sslCreds === undefined, `${value}: plaintext or TLS`);
      }
      delete process.env.PUBSUB_EMULATOR_HOST;
      assert.equal(pubsubClientOptions(PROJECT).servicePath, undefined, 'the service by default');
    } finally {
      if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
      else process.env.PUBSUB_EMULATOR_HOST = saved;
    }
  });
});

describe('queue: Pub/Sub specifics (pstest)', function () {
  this.timeout(60_000);
  useToolServer('pstest', startPstest);
  let n = 0;
  const fresh = () => `pubsub://${PROJECT}/specifics-${++n}`;

  it('creates topic, subscription with a dead-letter policy and the dead-letter pair; again harmlessly', async () => {
    const url = await createQueue(fresh(), { maxReceiveCount: 6, visibilityTimeoutSeconds: 45 });
    const id = `specifics-${n}`;
    assert.equal(url, `pubsub://projects/${PROJECT}/topics/${id}/subscriptions/${id}`);
    const queue = await openQueue(url);
    await queue.insert([encodeTask(['tasks.t', 'f'], { i: 1 }, url)]);
    assert.equal(await createQueue(url, { maxReceiveCount: 7, visibilityTimeoutSeconds: 50 }), url);
    const subscriber = new v1.SubscriberClient({ ...new PubSub({ projectId: PROJECT }).options });
    try {
      const [sub] = await subscriber.getSubscription({ subscription: `projects/${PROJECT}/subscriptions/${id}` });
      assert.equal(sub.ackDeadlineSeconds, 50);
      assert.equal(sub.topic, `projects/${PROJECT}/topics/${id}`);
      assert.deepEqual(
        { topic: sub.deadLetterPolicy?.deadLetterTopic, max: sub.deadLetterPolicy?.maxDeliveryAttempts },
        { topic: `projects/${PROJECT}/topics/${id}-dead`, max: 7 },
      );
      assert.equal(Number(sub.messageRetentionDuration?.seconds), 7 * 24 * 3600);
      const [dead] = await subscriber.getSubscription({ subscription: `projects/${PROJECT}/subscriptions/${id}-dead` });
      assert.equal(dead.topic, `projects/${PROJECT}/topics/${id}-dead`);
      // the task inserted before the second create is still there
      assert.equal((await leaseOne(queue, 30)).attempt, 1);
    } finally {
      await subscriber.close();
      await queue.close();
    }
  });

  it('refuses bounds Pub/Sub does not allow, saying which setting to change', async () => {
    await assert.rejects(createQueue(fresh(), { visibilityTimeoutSeconds: 900 }), (error: unknown) => {
      assert.ok(error instanceof QueueError && error.code === 'InvalidQueueUrl', String(error));
      assert.match(error.message, /the lease must be a whole number from 10 to 600/);
      assert.match(error.message, /TQ_LEASE_SECONDS/);
      return true;
    });
    await assert.rejects(createQueue(fresh(), { maxReceiveCount: 3 }), /from 5 to 100/);
    const queue = await openQueue(await createQueue(fresh()));
    try {
      await assert.rejects(queue.lease({ count: 1, seconds: 601 }), (error: unknown) => {
        assert.ok(error instanceof QueueError && error.code === 'UnsupportedOperation', String(error));
        assert.match(error.message, /at most 600 s/);
        assert.equal(error.transient, false, 'a worker with this setting stops instead of retrying');
        return true;
      });
    } finally {
      await queue.close();
    }
  });

  it('forwards a task to the dead-letter topic by itself after maxDeliveryAttempts, without our record', async () => {
    const url = await createQueue(fresh(), { maxReceiveCount: 5 });
    const queue = await openQueue(url);
    try {
      const [message] = [encodeTask(['tasks.t', 'crashy'], { i: 1 }, url)];
      await queue.insert([message!]);
      const attempts: number[] = [];
      for (let i = 0; i < 5; i++) {
        const task = await leaseOne(queue, 1);
        attempts.push(task.attempt);
        await queue.release(task); // a worker that died: the task comes back
      }
      assert.deepEqual(attempts, [1, 2, 3, 4, 5], 'attempt = deliveryAttempt');
      // the sixth delivery goes to the dead-letter topic instead
      const [none] = await queue.lease({ count: 1, seconds: 30, waitSeconds: 1 });
      assert.equal(none, undefined);
      const dead = await collect(queue.listDeadLetters());
      assert.deepEqual(
        dead.map((d) => [d.id, d.body, d.failure]),
        [[message!.id, message!.body, undefined]],
      );
    } finally {
      await queue.close();
    }
  });

  it('dead-letters data that is not UTF-8 at lease, bytes unchanged, never handing it to a worker', async () => {
    const url = await createQueue(fresh());
    const id = url.split('/subscriptions/')[1]!;
    const queue = await openQueue(url);
    const pubsub = new PubSub({ projectId: PROJECT });
    try {
      // A publisher that wrote Latin-1: "café" with é as the byte 0xe9.
      const latin1 = Buffer.from('{"payload":"caf\u00e9"}', 'latin1');
      await pubsub.topic(id).publishMessage({ data: latin1, attributes: { taskId: 'latin1' } });
      // Pull until the worker side has met it (Pub/Sub delivers in no set order, maybe not at once).
      const deadline = Date.now() + 20_000;
      let dead: DeadLetter | undefined;
      while (dead === undefined && Date.now() < deadline) {
        const leased = await queue.lease({ count: 10, seconds: 30, waitSeconds: 1 });
        assert.deepEqual(leased, [], 'never handed to a worker');
        [dead] = await collect(queue.listDeadLetters());
      }
      assert.equal(dead?.id, 'latin1');
      assert.equal(dead?.failure?.reason, 'MalformedTask');
      assert.match(dead?.failure?.message ?? '', /not UTF-8 text \(byte 0xe9 at offset 15\)/);
      await queue.insert([{ id: 'fine', body: 'body ✓' }]);
      assert.equal((await leaseOne(queue, 30)).id, 'fine', 'the queue goes on');
      // The dead-letter topic holds the very bytes that were published.
      const subscriber = new v1.SubscriberClient({ ...pubsub.options });
      const [pulled] = await subscriber.pull({
        subscription: `projects/${PROJECT}/subscriptions/${id}-dead`,
        maxMessages: 10,
      });
      const raw = pulled.receivedMessages?.find((m) => m.message?.attributes?.taskId === 'latin1');
      assert.deepEqual(Buffer.from(raw?.message?.data ?? []), latin1);
      await subscriber.close();
    } finally {
      await pubsub.close();
      await queue.close();
    }
  });

  it('keeps a failure record longer than one 1,024-byte attribute whole, unicode included', async () => {
    const url = await createQueue(fresh());
    const queue = await openQueue(url);
    try {
      await queue.insert([{ id: 'big-failure', body: 'body ✓' }]);
      const task = await leaseOne(queue, 30);
      const failure = {
        taskId: task.id,
        body: task.body,
        reason: 'TaskError',
        message: `TaskError: ${'ü日本🚀'.repeat(300)}`,
        stack: `Error\n${'    at frame (tasks/x.ts:1:1)\n'.repeat(200)}`,
        attempts: 1,
        worker: 'host/1',
        failedAt: new Date().toISOString(),
      };
      await queue.deadLetter(task, failure);
      const [dead] = await collect(queue.listDeadLetters());
      assert.deepEqual(dead?.failure, failure);
    } finally {
      await queue.close();
    }
  });

  it(
    `calls the queue drained after ${EMPTY_PULLS_TO_DRAIN} empty pulls in a row, not while a lease is held ` +
      `or a delayed release is pending`,
    async () => {
      const queue = await openQueue(await createQueue(fresh()));
      try {
        await queue.insert([{ id: 'only', body: 'x' }]);
        const task = await leaseOne(queue, 30);
        for (let i = 0; i < EMPTY_PULLS_TO_DRAIN; i++) await queue.lease({ count: 1, seconds: 30 });
        assert.equal(await queue.isEmpty(), false, 'this process still holds a lease');
        await queue.release(task, 2);
        for (let i = 0; i < EMPTY_PULLS_TO_DRAIN; i++) await queue.lease({ count: 1, seconds: 30 });
        assert.equal(await queue.isEmpty(), false, 'a delayed release is still pending');
        await sleep(2_100);
        const again = await leaseOne(queue, 30);
        assert.equal(again.attempt, 2);
        await queue.delete(again);
        for (let i = 0; i < EMPTY_PULLS_TO_DRAIN - 1; i++) await queue.lease({ count: 1, seconds: 30 });
        assert.equal(await queue.isEmpty(), false, `${EMPTY_PULLS_TO_DRAIN - 1} empty pulls are not enough`);
        await queue.lease({ count: 1, seconds: 30 });
        assert.equal(await queue.isEmpty(), true);
      } finally {
        await queue.close();
      }
    },
  );

  it(
    "opens python-task-queue's form on a subscription of another name, and names its dead letters by the " + 'policy',
    async () => {
      const id = `ptq-${++n}`;
      const url = `pubsub://projects/${PROJECT}/topics/${id}/subscriptions/${id}-workers`;
      await createQueue(url);
      const queue = await openQueue(url);
      try {
        assert.equal(queue.url, url);
        await queue.insert([{ id: 'a1', body: 'hello' }]);
        const task = await leaseOne(queue, 30);
        await queue.deadLetter(task, {
          taskId: 'a1',
          body: 'hello',
          reason: 'TaskError',
          message: 'no',
          attempts: 1,
          worker: 'w',
          failedAt: new Date().toISOString(),
        });
        assert.deepEqual(
          (await collect(queue.listDeadLetters())).map((d) => d.id),
          ['a1'],
        );
        assert.equal(await queue.requeueDeadLetters(['a1']), 1);
        assert.equal((await leaseOne(queue, 30)).body, 'hello');
      } finally {
        await queue.close();
      }
    },
  );
});
