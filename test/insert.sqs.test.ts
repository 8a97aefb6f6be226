/**
 * The insert pipeline against a real SQS-compatible server (fauxqs): every row arrives as a task,
 * and a queue that becomes unreachable halfway stops the insert with an honest account.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { loadSettings, TaskSettings } from '../lib/settings';
import { insertTable } from '../lib/insert';
import { createQueue, openQueue } from '../lib/queue';
import { decodeTask } from '../lib/queue/message';
import { defineTask } from '../lib/task';
import { primesLike, useTempDir, writeTable } from './support/arrow-tables';
import { exampleColumns } from './support/bad-tables';
import { startFauxqs, useFauxqs } from './support/fauxqs';

function settingsFor(dir: string, queueUrl: string, params: string): TaskSettings {
  return loadSettings({
    env: {},
    shippedEnvFile: path.join(dir, 'no-such.env'),
    overrides: {
      TASKQUEUE_PATH: queueUrl,
      TASK_PARAMETER_FILENAME: params,
      CF_CLOUDPATH: `file://${path.join(dir, 'out')}`,
    },
  });
}

describe('insert: SQS (fauxqs)', function () {
  this.timeout(60_000);
  const fauxqs = useFauxqs();
  const tmp = useTempDir('insert-sqs-');

  it('inserts every row as a task message the worker can decode', async () => {
    const url = await createQueue('sqs://insert-all');
    const file = await writeTable(path.join(tmp.dir, 'all.feather'), exampleColumns(45));
    const summary = await insertTable({
      settings: settingsFor(tmp.dir, 'sqs://insert-all', file),
      task: primesLike,
      progress: false,
      chunkRows: 10,
    });
    assert.equal(summary.inserted, 45);
    assert.equal(summary.queue, url);
    const queue = await openQueue(url);
    try {
      const starts: number[] = [];
      for (let tries = 0; starts.length < 45 && tries < 50; tries++) {
        const leased = await queue.lease({ count: 10, seconds: 60 });
        for (const task of leased) {
          const envelope = decodeTask(task.body);
          assert.deepEqual(envelope.key, primesLike.key);
          assert.equal(envelope.queueName, url);
          starts.push(envelope.kwargs.start as number);
        }
      }
      assert.deepEqual(
        starts.sort((a, b) => a - b),
        Array.from({ length: 45 }, (_, i) => i * 10),
      );
    } finally {
      await queue.close();
    }
    assert.ok(fauxqs.server.endpoint);
  });

  it('a queue that goes away halfway: the error says how many were inserted and what re-running does', async () => {
    // a server of its own, so stopping it does not disturb the other tests
    const server = await startFauxqs();
    // stop() at most once: a second call would wait for an exit event that already happened
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= server.stop());
    const saved = { ...process.env };
    Object.assign(process.env, server.env, { AWS_MAX_ATTEMPTS: '2' });
    try {
      await createQueue('sqs://insert-cut');
      const file = await writeTable(path.join(tmp.dir, 'cut.feather'), exampleColumns(300));
      let chunks = 0;
      const cutting = defineTask({
        ...primesLike,
        filterTasks: async (rows) => {
          if (++chunks === 3) await stop(); // the first two chunks (200 rows) are sent or in flight
          return rows;
        },
      });
      const error = await insertTable({
        settings: settingsFor(tmp.dir, 'sqs://insert-cut', file),
        task: cutting,
        progress: false,
        chunkRows: 100,
        concurrency: 1,
      }).then(
        () => assert.fail('insert succeeded without a server'),
        (e: Error) => e,
      );
      assert.match(error.message, /^inserting stopped after (\d{1,3}) of 300 rows were handled: /);
      const inserted = Number(/after (\d+) of/.exec(error.message)![1]);
      assert.ok(inserted >= 100 && inserted <= 200, `between the chunks sent and the chunks read: ${inserted}`);
      assert.match(error.message, /unreachable \(ECONNREFUSED\)/);
      assert.match(error.message, /tasks already queued but not yet finished would then be queued twice/);
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      await stop();
    }
  });
});
