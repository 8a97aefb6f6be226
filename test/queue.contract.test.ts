/**
 * The queue contract: one suite, run unchanged against the file queue (a temp directory), SQS
 * (a real fauxqs server) and Pub/Sub (Google's pstest). What a backend cannot do is declared in
 * its `Backend` row and checked as a refusal, never skipped. Leases are short (1–2 s) and waits
 * generous, as the CPU is shared.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createQueue,
  FailureRecord,
  LeasedTask,
  openQueue,
  Queue,
  QueueCounts,
  QueueError,
  QueueErrorCode,
} from '../lib/queue';
import { EMPTY_PULLS_TO_DRAIN } from '../lib/queue/pubsubQueue';
import { encodeTask } from '../lib/queue/message';
import { useFauxqs } from './support/fauxqs';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';

interface Backend {
  /** A new, empty queue's URL. */
  freshQueue(): Promise<string>;
  /** A URL naming a queue that does not exist. */
  missingQueueUrl(): string;
  /**
   * exact: the file queue keeps insertions/completions and can release all leases; approximate:
   * SQS's estimates; none: Pub/Sub cannot count a backlog (counts() refuses, saying why).
   */
  readonly counts: 'exact' | 'approximate' | 'none';
  /** Delayed inserts (Pub/Sub has no delayed delivery: insert refuses a delay). */
  readonly delayedInsert: boolean;
  /** How `isEmpty` decides: from counts, or (Pub/Sub) after EMPTY_PULLS_TO_DRAIN empty leases in a row. */
  readonly drain: 'counts' | 'emptyPulls';
  /** A lease with `waitSeconds` waits for a task to arrive (the file queue answers at once). */
  readonly longPoll: boolean;
}

async function leaseUntil(queue: Queue, count: number, seconds: number, timeoutMs = 15_000): Promise<LeasedTask[]> {
  const leased: LeasedTask[] = [];
  const deadline = Date.now() + timeoutMs;
  while (leased.length < count && Date.now() < deadline) {
    const got = await queue.lease({ count: count - leased.length, seconds, waitSeconds: 1 });
    leased.push(...got);
    if (got.length === 0) await sleep(200);
  }
  return leased;
}

/** Before asking isEmpty: a backend that drains by empty pulls needs its empty leases first. */
async function settle(queue: Queue, backend: Backend): Promise<void> {
  if (backend.drain === 'emptyPulls') for (let i = 0; i < EMPTY_PULLS_TO_DRAIN; i++) await leaseNone(queue);
}

async function countsOf(queue: Queue, backend: Backend): Promise<QueueCounts | undefined> {
  if (backend.counts !== 'none') return queue.counts();
  await assert.rejects(queue.counts(), rejectsWith('UnsupportedOperation', /no backlog count/));
  return undefined;
}

async function leaseNone(queue: Queue): Promise<void> {
  const got = await queue.lease({ count: 10, seconds: 30, waitSeconds: 1 });
  assert.deepEqual(
    got.map((t) => t.body),
    [],
    'expected no leasable task',
  );
}

function failureOf(task: LeasedTask, reason = 'TaskError'): FailureRecord {
  return {
    taskId: task.id,
    body: task.body,
    reason,
    message: `${reason}: it broke`,
    stack: 'Error: it broke\n    at task (tasks/example.ts:1:1)',
    attempts: task.attempt,
    worker: 'test-host/1234',
    failedAt: new Date().toISOString(),
  };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function rejectsWith(code: QueueErrorCode, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof QueueError, `expected a QueueError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
    return true;
  };
}

const bodiesOf = (n: number, queueName: string) =>
  Array.from({ length: n }, (_, i) => encodeTask(['tasks.test', 'noop'], { i }, queueName));

function queueContract(backend: () => Backend): void {
  let queue: Queue;
  let url: string;
  beforeEach(async () => {
    url = await backend().freshQueue();
    queue = await openQueue(url);
  });
  afterEach(async () => {
    await queue.close();
  });

  it('inserts, leases and deletes tasks, bodies and ids intact', async () => {
    const bodies = bodiesOf(25, url);
    let reported = 0;
    assert.equal(await queue.insert(bodies, { concurrency: 3, onProgress: (n) => (reported += n) }), 25);
    assert.equal(reported, 25);
    const inserted = await countsOf(queue, backend());
    if (inserted) assert.equal(inserted.enqueued, 25);
    assert.equal(await queue.isEmpty(), false);

    const leased = await leaseUntil(queue, 25, 30);
    assert.deepEqual(leased.map((t) => [t.id, t.body]).sort(), bodies.map((m) => [m.id, m.body]).sort());
    for (const task of leased) {
      assert.equal(task.attempt, 1);
      assert.ok(task.leaseExpiresAt > Date.now() + 20_000, 'lease ends about 30 s from now');
    }
    const counts = await countsOf(queue, backend());
    if (counts) {
      assert.equal(counts.leased, 25);
      assert.equal(counts.enqueued, 25, 'leased tasks are still enqueued');
    }
    await settle(queue, backend());
    assert.equal(await queue.isEmpty(), false, 'a queue with leased tasks is not empty');
    await leaseNone(queue);

    for (const task of leased) await queue.delete(task);
    await settle(queue, backend());
    assert.equal(await queue.isEmpty(), true);
    const after = await countsOf(queue, backend());
    if (after) {
      assert.equal(after.enqueued, 0);
      assert.equal(after.approximate, backend().counts === 'approximate');
      if (backend().counts === 'exact') {
        assert.equal(after.inserted, 25);
        assert.equal(after.completed, 25);
      } else {
        assert.equal(after.inserted, undefined);
        assert.equal(after.completed, undefined);
      }
    }
  });

  it('makes a task visible again when its lease expires, with the attempt counted', async () => {
    await queue.insert(bodiesOf(1, url));
    const [first] = await leaseUntil(queue, 1, 1);
    assert.equal(first?.attempt, 1);
    const [second] = await leaseUntil(queue, 1, 1);
    assert.equal(second?.id, first!.id);
    assert.equal(second?.attempt, 2);
    await queue.release(second!);
    const [third] = await leaseUntil(queue, 1, 30);
    assert.equal(third?.attempt, 3);
    await queue.delete(third!);
  });

  it('renews a lease past its first end, and reports a lost lease', async () => {
    await queue.insert(bodiesOf(1, url));
    const [task] = await leaseUntil(queue, 1, 1);
    const renewed = await queue.renew(task!, 30);
    assert.ok(renewed.leaseExpiresAt > Date.now() + 20_000);
    await sleep(2500);
    await leaseNone(queue);
    await queue.delete(renewed);
    await assert.rejects(queue.renew(renewed, 30), rejectsWith('LeaseLost'));
    await settle(queue, backend());
    assert.equal(await queue.isEmpty(), true);
  });

  it('renewing with an outdated handle after another worker took the task is a LeaseLost', async () => {
    await queue.insert(bodiesOf(1, url));
    const [stale] = await leaseUntil(queue, 1, 1);
    const [current] = await leaseUntil(queue, 1, 30);
    assert.equal(current?.id, stale!.id);
    await assert.rejects(queue.renew(stale!, 30), rejectsWith('LeaseLost', new RegExp(stale!.id)));
    await queue.delete(current!);
  });

  it('releases a task now, or after a delay', async () => {
    await queue.insert(bodiesOf(2, url));
    const [a, b] = await leaseUntil(queue, 2, 30);
    await queue.release(a!);
    await queue.release(b!, 3);
    const [again] = await leaseUntil(queue, 1, 30);
    assert.equal(again?.id, a!.id);
    await leaseNone(queue);
    const [later] = await leaseUntil(queue, 1, 30);
    assert.equal(later?.id, b!.id);
  });

  it('dates a lease from a long poll that waited longer than the lease by its answer: held on arrival', async () => {
    const askedAt = Date.now();
    const polling = queue.lease({ count: 1, seconds: 2, waitSeconds: 8 });
    if (!backend().longPoll) {
      assert.deepEqual(await polling, []);
      assert.ok(Date.now() - askedAt < 1000, 'answers at once');
      return;
    }
    await sleep(3000);
    await queue.insert(bodiesOf(1, url));
    const [task] = await polling;
    assert.ok(task, 'the long poll got the task');
    const left = task.leaseExpiresAt - Date.now();
    assert.ok(left > 1000, `${left} ms of a 2 s lease left on arrival, after a wait of ${Date.now() - askedAt} ms`);
    const renewed = await queue.renew(task, 30);
    await leaseNone(queue);
    await queue.delete(renewed);
  });

  it('holds a delayed insert back until its delay has passed', async () => {
    if (!backend().delayedInsert) {
      await assert.rejects(
        queue.insert(bodiesOf(1, url), { delaySeconds: 2 }),
        rejectsWith('UnsupportedOperation', /no delayed delivery/),
      );
      await leaseNone(queue);
      return;
    }
    await queue.insert(bodiesOf(1, url), { delaySeconds: 2 });
    assert.equal((await queue.counts()).enqueued, 1);
    assert.equal(await queue.isEmpty(), false);
    await leaseNone(queue);
    const [task] = await leaseUntil(queue, 1, 30);
    assert.ok(task);
    assert.equal(task.attempt, 1);
  });

  it('dead-letters a task with its failure record, lists it, and requeues it as a fresh task', async () => {
    const bodies = bodiesOf(3, url);
    await queue.insert(bodies);
    const leased = await leaseUntil(queue, 3, 30);
    const [bad, worse, good] = leased;
    const worseFailure = failureOf(worse!, 'InvalidParams');
    await queue.deadLetter(bad!, failureOf(bad!));
    await queue.deadLetter(worse!, worseFailure);
    await queue.delete(good!);

    const counts = await countsOf(queue, backend());
    if (counts) {
      assert.equal(counts.failed, 2);
      assert.equal(counts.enqueued, 0);
      if (backend().counts === 'exact') assert.equal(counts.completed, 1, 'a dead letter is not a completion');
    }

    const dead = await collect(queue.listDeadLetters());
    assert.deepEqual(dead.map((d) => d.id).sort(), [bad!.id, worse!.id].sort());
    const record = dead.find((d) => d.id === worse!.id)!;
    assert.equal(record.body, worse!.body);
    assert.deepEqual(record.failure, worseFailure);
    // listing is a peek: the dead letters are all still there
    assert.equal((await collect(queue.listDeadLetters())).length, 2);

    assert.equal(await queue.requeueDeadLetters([worse!.id]), 1);
    assert.deepEqual(
      (await collect(queue.listDeadLetters())).map((d) => d.id),
      [bad!.id],
    );
    const [back] = await leaseUntil(queue, 1, 30);
    assert.equal(back?.id, worse!.id);
    assert.equal(back?.body, worse!.body);
    assert.equal(back?.attempt, 1, 'a requeued task starts counting attempts again');

    assert.equal(await queue.requeueDeadLetters(), 1);
    assert.equal((await countsOf(queue, backend()))?.failed ?? (await collect(queue.listDeadLetters())).length, 0);
    const [last] = await leaseUntil(queue, 1, 30);
    assert.equal(last?.id, bad!.id);
  });

  it('leases and dead-letters malformed bodies like any other', async () => {
    const malformed = ['not json at all', '{"payload": 42, "id": "some-other-id"}', '[1, 2, 3]'];
    assert.equal(await queue.insert(malformed.map((body, i) => ({ id: `malformed-${i}`, body }))), 3);
    const leased = await leaseUntil(queue, 3, 30);
    assert.deepEqual(
      leased.map((t) => [t.id, t.body]).sort(),
      malformed.map((body, i) => [`malformed-${i}`, body]).sort(),
      'bodies are opaque: each task is known by the id it was inserted with, whatever the body says',
    );
    for (const task of leased) {
      assert.ok(task.id.length > 0);
      await queue.deadLetter(task, failureOf(task, 'MalformedTask'));
    }
    const dead = await collect(queue.listDeadLetters());
    assert.deepEqual(dead.map((d) => d.body).sort(), [...malformed].sort());
    assert.ok(dead.every((d) => d.failure?.reason === 'MalformedTask'));
    await settle(queue, backend());
    assert.equal(await queue.isEmpty(), true);
  });

  it('purges every task, leased or not, and the dead letters', async () => {
    await queue.insert(bodiesOf(4, url));
    const [task, doomed] = await leaseUntil(queue, 2, 30);
    await queue.deadLetter(doomed!, failureOf(doomed!));
    assert.ok(task);
    await queue.purge();
    if (backend().counts === 'none') {
      assert.deepEqual(await collect(queue.listDeadLetters()), []);
      await leaseNone(queue);
      return;
    }
    // SQS purges asynchronously ("within 60 seconds"): allow it a moment
    const deadline = Date.now() + 15_000;
    while (!(await queue.isEmpty()) && Date.now() < deadline) await sleep(200);
    const counts = await queue.counts();
    assert.equal(counts.enqueued, 0);
    assert.equal(counts.failed, 0);
    if (backend().counts === 'exact') {
      assert.equal(counts.inserted, 0);
      assert.equal(counts.completed, 0);
    }
    await leaseNone(queue);
  });

  it('releases every lease at once where the backend can, and says why not where it cannot', async () => {
    await queue.insert(bodiesOf(3, url));
    const leased = await leaseUntil(queue, 3, 60);
    if (backend().counts === 'exact') {
      assert.equal(await queue.releaseAll(), 3);
      const again = await leaseUntil(queue, 3, 60);
      assert.deepEqual(again.map((t) => t.id).sort(), leased.map((t) => t.id).sort());
    } else {
      await assert.rejects(queue.releaseAll(), rejectsWith('UnsupportedOperation', /visibility timeout|ack deadline/));
    }
  });

  it('reports a queue that does not exist as QueueNotFound, with the create command', async () => {
    const missing = backend().missingQueueUrl();
    await assert.rejects(
      (async () => {
        const q = await openQueue(missing);
        try {
          await q.counts();
        } finally {
          await q.close();
        }
      })(),
      rejectsWith('QueueNotFound', /npm run queue:create -- --queue/),
    );
  });
}

describe('queue contract: file queue', () => {
  let dir: string;
  let n = 0;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fq-contract-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  queueContract(() => ({
    freshQueue: () => createQueue(`fq://${path.join(dir, `q${++n}`)}`),
    missingQueueUrl: () => `fq://${path.join(dir, 'never-created')}`,
    counts: 'exact',
    delayedInsert: true,
    drain: 'counts',
    longPoll: false,
  }));

  it('reports lease and count on a missing directory as QueueNotFound naming the path', async () => {
    const q = await openQueue(`fq://${path.join(dir, 'absent')}`);
    await assert.rejects(q.lease({ count: 1, seconds: 10 }), rejectsWith('QueueNotFound', /absent/));
  });
});

describe('queue contract: SQS (fauxqs)', () => {
  useFauxqs();
  let n = 0;
  queueContract(() => ({
    freshQueue: () => createQueue(`sqs://contract-${++n}`),
    missingQueueUrl: () => 'sqs://never-created',
    counts: 'approximate',
    delayedInsert: true,
    drain: 'counts',
    longPoll: true,
  }));
});

describe('queue contract: Pub/Sub (pstest)', function () {
  this.timeout(60_000);
  useToolServer('pstest', startPstest);
  let n = 0;
  queueContract(() => ({
    freshQueue: () => createQueue(`pubsub://contract-project/contract-${++n}`),
    missingQueueUrl: () => 'pubsub://contract-project/never-created',
    counts: 'none',
    delayedInsert: false,
    drain: 'emptyPulls',
    longPoll: true,
  }));
});
