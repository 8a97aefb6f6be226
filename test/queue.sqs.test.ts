/** SQS-only behaviour, against a real fauxqs server: queue creation, limits, redrive, typed errors. */
import assert from 'node:assert/strict';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createQueue, LeasedTask, openQueue, Queue, QueueError, QueueErrorCode } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { freePort, useFauxqs } from './support/fauxqs';
import { withEnv } from './support/env';

function rejectsWith(code: QueueErrorCode, ...patterns: RegExp[]) {
  return (error: unknown) => {
    assert.ok(error instanceof QueueError, `expected a QueueError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  };
}

describe('SQS queue', () => {
  useFauxqs();
  let sqs: SQSClient;
  let n = 0;
  const name = () => `sqs-only-${++n}`;
  before(() => {
    sqs = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS });
  });
  after(() => sqs.destroy());

  it('creates the queue and its -dead queue with a redrive policy, idempotently', async () => {
    const queueName = name();
    const url = await createQueue(`sqs://${queueName}`, { maxReceiveCount: 4, visibilityTimeoutSeconds: 120 });
    assert.equal(await createQueue(`sqs://${queueName}`, { maxReceiveCount: 4, visibilityTimeoutSeconds: 120 }), url);
    assert.match(url, new RegExp(`/${queueName}$`));
    const attributes =
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
    const policy = JSON.parse(attributes.RedrivePolicy ?? '{}') as {
      deadLetterTargetArn?: string;
      maxReceiveCount?: number | string;
    };
    assert.match(policy.deadLetterTargetArn ?? '', new RegExp(`:${queueName}-dead$`));
    assert.equal(Number(policy.maxReceiveCount), 4);
    assert.equal(attributes.VisibilityTimeout, '120');
    assert.equal(attributes.MessageRetentionPeriod, String(14 * 24 * 3600));
    const dead = await sqs.send(new GetQueueUrlCommand({ QueueName: `${queueName}-dead` }));
    assert.ok(dead.QueueUrl);
    // the returned URL opens the same queue as sqs://name
    const byUrl = await openQueue(url);
    const byName = await openQueue(`sqs://${queueName}`);
    await byUrl.insert([{ id: 'one', body: '{"id":"one"}' }]);
    assert.equal((await byName.counts()).enqueued, 1);
    await Promise.all([byUrl.close(), byName.close()]);
  });

  describe('with a fresh queue', () => {
    let queue: Queue;
    let url: string;
    beforeEach(async () => {
      url = await createQueue(`sqs://${name()}`, { maxReceiveCount: 2 });
      queue = await openQueue(url);
    });
    afterEach(() => queue.close());

    it('leases more than 10 tasks in one call by receiving several batches', async () => {
      await queue.insert(Array.from({ length: 25 }, (_, i) => encodeTask(['m', 'f'], { i }, 'q')));
      const leased = await queue.lease({ count: 25, seconds: 30, waitSeconds: 1 });
      assert.ok(leased.length > 10, `leased ${leased.length}`);
      assert.equal(new Set(leased.map((t) => t.id)).size, leased.length);
    });

    it('refuses a message over the queue size limit before sending, naming both sizes', async () => {
      await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: { MaximumMessageSize: '1024' } }));
      const fresh = await openQueue(url); // the limit is read once per opened queue
      try {
        // bodies of 400 bytes: batches must be cut by size, not only by count
        assert.equal(
          await fresh.insert(Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, body: 'x'.repeat(400) }))),
          10,
        );
        await assert.rejects(
          fresh.insert([
            { id: 'small', body: 'small' },
            { id: 'big', body: 'y'.repeat(2000) },
          ]),
          rejectsWith('MessageTooLarge', /task #2 is 2015 bytes with its id attribute/, /at most 1024 bytes/),
        );
      } finally {
        await fresh.close();
      }
    });

    it('turns a refused batch entry into an error naming the task, keeping the others', async () => {
      await assert.rejects(
        queue.insert(['first', 'bad \u0000 char', 'third'].map((body, i) => ({ id: `m${i}`, body }))),
        rejectsWith('InvalidMessage', /task #2/, /InvalidMessageContents/),
      );
      assert.equal((await queue.counts()).enqueued, 2);
    });

    it('lets SQS itself dead-letter a task whose workers keep dying (maxReceiveCount)', async () => {
      await queue.insert([{ id: 'crashy', body: 'not even JSON' }]);
      let received = 0;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && (await queue.counts()).failed === 0) {
        received += (await queue.lease({ count: 1, seconds: 1, waitSeconds: 1 })).length;
      }
      assert.equal(received, 2);
      const dead = [];
      for await (const letter of queue.listDeadLetters()) dead.push(letter);
      assert.deepEqual(dead, [{ id: 'crashy', body: 'not even JSON' }]);
    });

    it('clamps a renewal to the 12 h ceiling and says so once it is reached', async () => {
      await queue.insert([{ id: 'long', body: '{}' }]);
      const [task] = await queue.lease({ count: 1, seconds: 30, waitSeconds: 1 });
      assert.ok(task);
      assert.ok(task.leaseCeilingAt! >= Date.now() + 12 * 3600 * 1000 - 60_000);
      const nearCeiling: LeasedTask = { ...task, leaseCeilingAt: Date.now() + 60_000 };
      const renewed = await queue.renew(nearCeiling, 3600);
      assert.ok(renewed.leaseExpiresAt <= nearCeiling.leaseCeilingAt!, 'renewal clamped to the ceiling');
      assert.ok(renewed.leaseExpiresAt > Date.now() + 30_000);
      await assert.rejects(
        queue.renew({ ...task, leaseCeilingAt: Date.now() }, 60),
        rejectsWith('LeaseLimitReached', /12 hours/),
      );
    });

    it('stops a long poll when its signal aborts', async () => {
      const controller = new AbortController();
      const started = Date.now();
      setTimeout(() => controller.abort(), 300);
      const leased = await queue.lease({ count: 1, seconds: 30, waitSeconds: 20, signal: controller.signal });
      assert.deepEqual(leased, []);
      assert.ok(Date.now() - started < 5000, `returned after ${Date.now() - started} ms`);
    });
  });

  it('reports an endpoint that does not answer as Unreachable, naming it', async () => {
    const port = await freePort();
    await withEnv({ AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${port}` }, () =>
      assert.rejects(
        openQueue('sqs://anything'),
        rejectsWith('Unreachable', new RegExp(`127\\.0\\.0\\.1:${port}`), /AWS_ENDPOINT_URL_SQS/),
      ),
    );
  });

  it('reports missing credentials as NoCredentials, saying how to provide them', async () => {
    await withEnv(
      {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
        AWS_CONFIG_FILE: '/nonexistent/config',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
        AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      },
      () =>
        assert.rejects(openQueue('sqs://anything'), rejectsWith('NoCredentials', /AWS_ACCESS_KEY_ID/, /aws configure/)),
    );
  });

  it('reports a missing queue as QueueNotFound when opening it, with the create command', async () => {
    await assert.rejects(
      openQueue('sqs://no-such-queue'),
      rejectsWith('QueueNotFound', /npm run queue:create -- --queue sqs:\/\/no-such-queue/),
    );
  });
});
