import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { openQueue } from '../lib/queue';
import type { Queue } from '../lib/queue/types';
import { watchWhileCompleting, exampleBodies, failureFor, runCli } from './ops.helpers';
import { freePort, useFauxqs } from './support/fauxqs';

describe('ops commands on SQS (fauxqs)', function () {
  this.timeout(30_000);
  const fauxqs = useFauxqs();
  let n = 0;
  const opened: Queue[] = [];

  /** Creates a fresh queue (with its dead-letter queue) through `queue:create` and opens it. */
  async function createFresh(maxAttempts = 3): Promise<{ url: string; queue: Queue }> {
    const created = await runCli('queue-create', [
      '--queue',
      `sqs://ops-${++n}`,
      '--max-attempts',
      String(maxAttempts),
      '--json',
    ]);
    assert.equal(created.code, 0, created.stderr);
    const url = JSON.parse(created.stdout).queue as string;
    const queue = await openQueue(url);
    opened.push(queue);
    return { url, queue };
  }

  after(async () => {
    await Promise.all(opened.map((q) => q.close()));
  });

  it('queue:create makes the queue, its -dead queue and the redrive policy, idempotently', async () => {
    const name = `ops-create-${++n}`;
    const first = await runCli('queue-create', [
      '--queue',
      `sqs://${name}`,
      '--max-attempts',
      '4',
      '--lease',
      '90',
      '--json',
    ]);
    assert.equal(first.code, 0, first.stderr);
    const report = JSON.parse(first.stdout);
    assert.deepEqual(Object.keys(report).sort(), [
      'deadLetterQueue',
      'kind',
      'leaseSeconds',
      'maxAttempts',
      'maxReceiveCount',
      'queue',
    ]);
    assert.equal(report.kind, 'sqs');
    assert.match(report.queue, new RegExp(`/${name}$`));
    assert.equal(report.deadLetterQueue, `${report.queue}-dead`);
    assert.deepEqual([report.maxAttempts, report.maxReceiveCount, report.leaseSeconds], [4, 5, 90]);

    const sqs = new SQSClient({ endpoint: fauxqs.server.endpoint });
    try {
      const attributes = async (url: string) =>
        (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
      const main = await attributes(report.queue);
      const dead = await attributes(report.deadLetterQueue);
      const policy = JSON.parse(main.RedrivePolicy ?? '{}');
      assert.equal(policy.deadLetterTargetArn, dead.QueueArn);
      assert.equal(Number(policy.maxReceiveCount), 5);
      assert.equal(main.VisibilityTimeout, '90');

      // Again, human output: same queue, no error, attributes kept.
      const again = await runCli('queue-create', ['--queue', `sqs://${name}`, '--max-attempts', '4', '--lease', '90']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(
        again.stdout,
        new RegExp(`^TASKQUEUE_PATH=${report.queue.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
      );
      assert.match(again.stdout, /^dead-letter queue: \S+-dead$/m);
      assert.match(again.stdout, /after 4 attempts; SQS moves it by itself after 5 receives/);
      assert.equal(
        JSON.parse((await attributes(report.queue)).RedrivePolicy ?? '{}').deadLetterTargetArn,
        dead.QueueArn,
      );
    } finally {
      sqs.destroy();
    }
  });

  it('status shows what SQS knows, marked approximate, and says what it does not know', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(10));
    const done = await queue.lease({ count: 2, seconds: 600 });
    for (const t of done) await queue.delete(t);
    const [failed] = await queue.lease({ count: 1, seconds: 600 });
    await queue.deadLetter(failed, failureFor(failed, 'boom'));
    assert.equal((await queue.lease({ count: 3, seconds: 600 })).length, 3);

    const [json, human] = await Promise.all([
      runCli('status', ['--queue', url, '--json']),
      runCli('status', ['--queue', url]),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.deepEqual(
      [
        report.kind,
        report.approximate,
        report.inserted,
        report.completed,
        report.enqueued,
        report.leased,
        report.delayed,
        report.failed,
      ],
      ['sqs', true, null, null, 7, 3, 0, 1],
    );
    assert.deepEqual(report.percent, { enqueued: null, leased: 42.9, completed: null, failed: null });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /~ = approximate/);
    assert.match(human.stdout, /^inserted +unknown +SQS does not count insertions$/m);
    assert.match(human.stdout, /^enqueued +~7$/m);
    assert.match(human.stdout, /^leased +~3 +42\.9% of queue +in flight$/m);
    assert.match(human.stdout, /^completed +unknown +SQS does not count completions$/m);
    assert.match(human.stdout, /^failed +~1 +dead-lettered: npm run failures$/m);
  });

  it('failures and requeue round-trip through the dead-letter queue', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(3));
    const tasks = await queue.lease({ count: 3, seconds: 600 });
    assert.equal(tasks.length, 3);
    for (const t of tasks) await queue.deadLetter(t, failureFor(t, `broke ${t.id}`));

    const listed = await runCli('failures', ['--queue', url, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const { count, failures } = JSON.parse(listed.stdout);
    assert.equal(count, 3);
    assert.deepEqual(failures.map((f: { id: string }) => f.id).sort(), tasks.map((t) => t.id).sort());
    for (const f of failures)
      assert.deepEqual(
        [f.task, f.reason, f.error, f.attempts],
        ['tasks.example.count_primes', 'TaskError', `broke ${f.id}`, 1],
      );

    const one = await runCli('requeue', ['--queue', url, '--id', tasks[0].id]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^Requeued 1 task:/);
    const rest = await runCli('requeue', ['--queue', url, '--json']);
    const { queue: requeuedFrom, requested, moved } = JSON.parse(rest.stdout);
    assert.deepEqual({ queue: requeuedFrom, requested, moved }, { queue: url, requested: 'all', moved: 2 });
    const counts = await queue.counts();
    assert.deepEqual([counts.enqueued, counts.failed], [3, 0]);
  });

  it('release explains that SQS cannot release leases, and exits 1', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(1));
    await queue.lease({ count: 1, seconds: 600 });
    const result = await runCli('release', ['--queue', url]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot release all leases on SQS queue/);
    assert.match(result.stderr, /visible again by themselves when their visibility timeout/);
  });

  it('purge refuses without confirmation, and with --yes empties the queue and its dead letters', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(4));
    const [t] = await queue.lease({ count: 1, seconds: 600 });
    await queue.deadLetter(t, failureFor(t, 'x'));
    const refused = await runCli('purge', ['--queue', url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to purge/);
    assert.equal((await queue.counts()).enqueued, 3);

    const purged = await runCli('purge', ['--queue', url, '--yes']);
    assert.equal(purged.code, 0, purged.stderr);
    assert.match(purged.stdout, /removed ~3 enqueued tasks \(~0 of them leased\) and ~1 dead-lettered/);
    assert.match(purged.stdout, /one purge per queue per 60 s/);
    const after = await queue.counts();
    assert.deepEqual([after.enqueued, after.failed], [0, 0]);
  });

  it('status --watch measures the fall of enqueued and stops after two empty samples', async () => {
    const { url, queue } = await createFresh();
    await queue.insert(exampleBodies(8));
    const result = await watchWhileCompleting(url, queue);
    assert.equal(result.code, 0, result.stderr);
    const reports = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const drained = reports.filter((r) => r.drained);
    assert.equal(drained.length, 2, 'SQS counts can read 0 for a moment: it asks twice');
    assert.deepEqual(reports.slice(-2), drained, 'the two empty samples are the last ones');
    const moving = reports.find((r) => r.throughput && r.throughput.perSecond > 0 && !r.drained);
    assert.ok(moving, result.stdout);
    assert.deepEqual([moving.throughput.basis, moving.throughput.approximate], ['drained', true]);
  });

  it('gives a clear error and exit 1 for a missing queue, no credentials and an unreachable endpoint', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'ops-home-'));
    const deadPort = await freePort();
    const noCredentials = {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      HOME: home,
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
      AWS_CONFIG_FILE: path.join(home, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    try {
      const [byName, byUrl, credentials, unreachable] = await Promise.all([
        runCli('status', ['--queue', 'sqs://no-such-queue']),
        runCli('failures', ['--queue', `${fauxqs.server.endpoint}/000000000000/no-such-queue`]),
        runCli('status', ['--queue', 'sqs://anything'], noCredentials),
        runCli('status', ['--queue', 'sqs://anything'], { AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${deadPort}` }),
      ]);
      for (const result of [byName, byUrl, credentials, unreachable]) assert.equal(result.code, 1, result.stderr);
      assert.match(
        byName.stderr,
        new RegExp(
          /sqs:\/\/no-such-queue: the queue does not exist\n +fix: create it with `npm run queue:create --/.source +
            / --queue sqs:\/\/no-such-queue`/.source,
        ),
      );
      assert.match(
        byUrl.stderr,
        /the queue does not exist\n +fix: create it with `npm run queue:create -- --queue http/,
      );
      assert.match(credentials.stderr, /no AWS credentials found\n +fix: set AWS_ACCESS_KEY_ID/);
      assert.match(
        unreachable.stderr,
        new RegExp(`endpoint http://127\\.0\\.0\\.1:${deadPort} \\(from AWS_ENDPOINT_URL_SQS\\) unreachable`),
      );
      for (const result of [byName, byUrl, credentials, unreachable])
        assert.ok(!/\n\s+at /.test(result.stderr), `no stack trace: ${result.stderr}`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
