/**
 * The ops commands on Pub/Sub, as child processes against Google's pstest: queue:create, status
 * (what the API can tell, and that it cannot count), failures, requeue, purge and release.
 */
import assert from 'node:assert/strict';
import { openQueue } from '../lib/queue';
import type { Queue } from '../lib/queue/types';
import { exampleBodies, failureFor, runCli } from './ops.helpers';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';

describe('ops commands on Pub/Sub (pstest)', function () {
  this.timeout(60_000);
  const pstest = useToolServer('pstest', startPstest);
  let n = 0;
  const opened: Queue[] = [];
  const env = () => pstest.server.env;

  async function createFresh(): Promise<{ url: string; queue: Queue }> {
    const created = await runCli(
      'queue-create',
      ['--queue', `pubsub://ops-project/ops-${++n}`, '--max-attempts', '4', '--lease', '90', '--json'],
      env(),
    );
    assert.equal(created.code, 0, created.stderr);
    const report = JSON.parse(created.stdout);
    assert.deepEqual(report, {
      queue: `pubsub://projects/ops-project/topics/ops-${n}/subscriptions/ops-${n}`,
      kind: 'pubsub',
      deadLetterQueue: `pubsub://projects/ops-project/topics/ops-${n}-dead/subscriptions/ops-${n}-dead`,
      maxAttempts: 4,
      maxReceiveCount: 5,
      leaseSeconds: 90,
    });
    const queue = await openQueue(report.queue);
    opened.push(queue);
    return { url: report.queue, queue };
  }

  after(async () => {
    await Promise.all(opened.map((q) => q.close()));
  });

  it('status shows the resources, the policy and the dead letters, and says what it cannot count', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(3, url));
    const [task] = await queue.lease({ count: 1, seconds: 30, waitSeconds: 2 });
    await queue.deadLetter(task!, failureFor(task!, 'boom'));

    const text = await runCli('status', ['--queue', url], env());
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\(Pub\/Sub\)/);
    assert.match(text.stdout, /lease \(ack deadline\) 90 s, retention 7 days/);
    assert.match(text.stdout, /after 5 deliveries/);
    assert.match(text.stdout, /failed\s+1\s+dead-lettered: npm run failures/);
    assert.match(text.stdout, /enqueued\s+unknown/);
    assert.match(text.stdout, /num_undelivered_messages/);

    const json = JSON.parse((await runCli('status', ['--queue', url, '--json'], env())).stdout);
    assert.equal(json.kind, 'pubsub');
    assert.equal(json.failed, 1);
    assert.equal(json.failedIsLowerBound, false);
    assert.equal(json.enqueued, null);
    assert.equal(json.leaseSeconds, 90);

    const watch = await runCli('status', ['--queue', url, '--watch'], env());
    assert.equal(watch.code, 1);
    assert.match(watch.stderr, /cannot watch .*no backlog count/);
  });

  it('failures lists a dead letter with its record; requeue puts it back; release says why it cannot', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(1, url));
    const [task] = await queue.lease({ count: 1, seconds: 30, waitSeconds: 2 });
    await queue.deadLetter(task!, failureFor(task!, 'prime counter exploded'));

    const failures = JSON.parse((await runCli('failures', ['--queue', url, '--json'], env())).stdout);
    assert.equal(failures.count, 1);
    assert.equal(failures.failures[0].id, task!.id);
    assert.equal(failures.failures[0].error, 'prime counter exploded');

    const requeued = await runCli('requeue', ['--queue', url, '--json'], env());
    assert.equal(requeued.code, 0, requeued.stderr);
    assert.equal(JSON.parse(requeued.stdout).moved, 1);
    const [back] = await queue.lease({ count: 1, seconds: 30, waitSeconds: 2 });
    assert.equal(back?.id, task!.id);

    const release = await runCli('release', ['--queue', url], env());
    assert.equal(release.code, 1);
    assert.match(release.stderr, /ack ids of outstanding messages/);
  });

  it('purge --yes seeks to now: nothing is left to lease, no dead letter either', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(5, url));
    const [task] = await queue.lease({ count: 1, seconds: 30, waitSeconds: 2 });
    await queue.deadLetter(task!, failureFor(task!, 'x'));
    const purged = await runCli('purge', ['--queue', url, '--yes', '--json'], env());
    assert.equal(purged.code, 0, purged.stderr);
    assert.deepEqual(JSON.parse(purged.stdout), {
      queue: url,
      purged: true,
      removed: null,
      failed: null,
      approximate: true,
    });
    assert.deepEqual(await queue.lease({ count: 10, seconds: 30, waitSeconds: 1 }), []);
    const failures = JSON.parse((await runCli('failures', ['--queue', url, '--json'], env())).stdout);
    assert.equal(failures.count, 0);
  });

  it('reports a missing queue with the create command', async () => {
    const result = await runCli('status', ['--queue', 'pubsub://ops-project/never-made'], env());
    assert.equal(result.code, 1);
    assert.match(result.stderr, /does not exist/);
    assert.match(result.stderr, /npm run queue:create -- --queue pubsub:\/\/projects\/ops-project/);
  });
});
