/**
 * The worker's process-level scenarios (test/support/workerScenarios.ts) on SQS (the fauxqs
 * server), and shutdown while the SQS server does not answer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueue, openQueue } from '../lib/queue';
import { decodeTask, encodeTask } from '../lib/queue/message';
import { startFauxqs } from './support/fauxqs';
import { withEnv } from './support/env';
import { eventually, FIXTURE_TASKS, killAllWorkers, startWorker } from './support/workerProcess';
import { describeWorkerProcesses } from './support/workerScenarios';

describeWorkerProcesses('sqs');

describe('worker process: SIGTERM while the SQS server is stopped (SIGSTOP)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'worker-sigstop-'))));
  after(async () => {
    await killAllWorkers();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'exits within grace + 2 s though no release can reach the queue; the task comes back when its lease ' + 'expires',
    async () => {
      // A server of its own: it is frozen mid-test.
      const server = await startFauxqs();
      try {
        await withEnv(server.env, async () => {
          const url = await createQueue(`sqs://worker-sigstop-${process.pid}`);
          const queue = await openQueue(url);
          await queue.insert([encodeTask(['fixtures', 'spin'], { dir, name: 'frozen', ms: 600_000 }, 'sigstop')]);
          const worker = await startWorker(
            [
              '--queue',
              url,
              '--tasks',
              FIXTURE_TASKS,
              '--lease',
              '4',
              '--grace-seconds',
              '1',
              '--cloudpath',
              `file://${dir}/out`,
            ],
            server.env,
          );
          await worker.waitForLog((line) => line.message === 'task started');
          process.kill(server.pid, 'SIGSTOP');
          const signalledAt = Date.now();
          worker.signal('SIGTERM');
          let exitedAfterMs: number;
          try {
            const exit = await worker.waitForExit(15_000);
            exitedAfterMs = Date.now() - signalledAt;
            assert.equal(exit.code, 0, worker.describe());
          } finally {
            process.kill(server.pid, 'SIGCONT');
          }
          assert.ok(
            exitedAfterMs <= 1000 + 2000,
            `exited ${exitedAfterMs} ms after SIGTERM with the queue frozen, grace 1 s`,
          );
          // Nothing lost: the lease (4 s, perhaps renewed once) runs out and the task is leasable again.
          const [task] = await eventually(
            'the task to come back',
            async () => {
              const leased = await queue.lease({ count: 1, seconds: 30 });
              return leased.length > 0 ? leased : undefined;
            },
            15_000,
            200,
          );
          assert.equal(decodeTask(task!.body).kwargs.name, 'frozen');
          await queue.close();
        });
      } finally {
        await server.stop();
      }
    },
  );
});
