/**
 * Workers at cloud latency (issue 19): no-op tasks drained by ONE worker process from SQS (the
 * fauxqs server) with toxiproxy between the SDK and the server adding a round trip (0 ms and, by
 * default, 30 ms ± 5 ms), printed side by side with, at the same latency:
 *
 * - the bare client loop: `--loops` receive(10) + DeleteMessageBatch loops with the SDK alone,
 *   one per lease call the worker may have in flight (worker/leaseLoop.ts MAX_LEASES_IN_FLIGHT),
 *   and one loop alone;
 * - python-task-queue's own `TaskQueue.poll` (one lease and one delete per task), from the venv of
 *   scripts/test-tools.sh (bench/python/ptq_poll.py).
 *
 *   npm run bench -- worker-latency [--tasks 3000] [--python-tasks 300] [--concurrency 10]
 *                                   [--latency 0,30] [--jitter 5]
 *
 * Tasks are inserted straight to the server (not through the proxy), so only the draining is
 * timed. "tasks/s" for the worker is from its own summary (first lease to empty queue).
 */
import { DeleteMessageBatchCommand, Message, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createQueue, openQueue, QueueMessage } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { MAX_LEASES_IN_FLIGHT } from '../worker/leaseLoop';
import { noopTask } from '../test/fixtures/tasks';
import { startFauxqs } from '../test/support/fauxqs';
import { startToxiproxy } from '../test/support/toxiproxy';
import { PTQ_NOOP_KEY, pythonPoll } from './python/ptqPoll';

const ROOT = path.resolve(__dirname, '..');
const FIXTURE_TASKS = path.join(ROOT, 'test', 'fixtures', 'tasks', 'index.ts');

const print = (text: string) => process.stdout.write(`${text}\n`);
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

function noops(count: number, key: readonly [string, string] = noopTask.key): QueueMessage[] {
  return Array.from({ length: count }, (_, i) => encodeTask(key, { i }, 'bench'));
}

/** A fresh queue on the server (not through the proxy) holding `messages`; resolves with its URL. */
async function filledQueue(name: string, messages: QueueMessage[]): Promise<string> {
  const url = await createQueue(`sqs://${name}`);
  const queue = await openQueue(url);
  try {
    await queue.insert(messages, { concurrency: 16 });
  } finally {
    await queue.close();
  }
  return url;
}

/** One worker process drains the queue through the proxy; resolves with tasks/s from its summary. */
async function workerRun(url: string, tasks: number, concurrency: number, env: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-worker-latency-'));
  try {
    const logFile = path.join(dir, 'worker.log');
    const out = fs.openSync(logFile, 'w');
    const args = [
      '-r',
      'tsx/cjs',
      path.join(ROOT, 'worker', 'main.ts'),
      ...['--queue', url, '--tasks', FIXTURE_TASKS, '--cloudpath', `file://${dir}/out`],
      ...['--concurrency', String(concurrency), '--lease', '60', '--exit-when-empty', '--log-level', 'info'],
    ];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ['ignore', out, 'inherit'],
        env: { ...process.env, ...env },
      });
      child.once('error', reject);
      child.once('exit', resolve);
    });
    fs.closeSync(out);
    const last = fs.readFileSync(logFile, 'utf8').trim().split('\n').at(-1)!;
    const summary = JSON.parse(last) as { message: string; succeeded: number; durationSeconds: number };
    if (code !== 0 || summary.message !== 'worker stopped' || summary.succeeded !== tasks) {
      throw new Error(`worker exited ${code}; last line: ${last}`);
    }
    return tasks / summary.durationSeconds;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `loops` concurrent receive(10) + DeleteMessageBatch loops with the SDK alone, until `tasks` are done. */
async function bareLoop(url: string, tasks: number, loops: number, endpoint: string): Promise<number> {
  const client = new SQSClient({ endpoint, region: process.env.AWS_REGION });
  let done = 0;
  const started = performance.now();
  const loop = async () => {
    while (done < tasks) {
      const reply = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 60,
          WaitTimeSeconds: 1,
        }),
      );
      const messages: Message[] = reply.Messages ?? [];
      if (messages.length === 0) continue;
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
        }),
      );
      done += messages.length;
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  client.destroy();
  return done / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const options = new Command('bench worker-latency')
    .addOption(new Option('--tasks <n>', 'no-op tasks per worker and bare-loop run').default('3000'))
    .addOption(new Option('--python-tasks <n>', "tasks for python-task-queue's poll per latency").default('300'))
    .addOption(new Option('--concurrency <n>', 'the worker’s --concurrency').default('10'))
    .addOption(new Option('--latency <list>', 'added round trips to try, in ms').default('0,30'))
    .addOption(new Option('--jitter <ms>', '± this much on each added round trip').default('5'))
    .parse()
    .opts<{ tasks: string; pythonTasks: string; concurrency: string; latency: string; jitter: string }>();
  const tasks = Number(options.tasks);
  const pythonTasks = Number(options.pythonTasks);
  const concurrency = Number(options.concurrency);
  const latencies = options.latency.split(',').map(Number);
  const jitter = Number(options.jitter);

  const fauxqs = await startFauxqs();
  Object.assign(process.env, fauxqs.env);
  const toxiproxy = await startToxiproxy();
  const proxy = await toxiproxy.addProxy('sqs', `127.0.0.1:${fauxqs.port}`);
  const through = `http://${proxy.listen}`;
  const proxied = { ...fauxqs.env, AWS_ENDPOINT_URL_SQS: through };
  print(`worker at cloud latency: SQS (fauxqs) behind toxiproxy, ${os.cpus().length} CPUs, load ${load()}`);
  print(`  worker: ${tasks} no-op tasks, --concurrency ${concurrency}; python-task-queue poll: ${pythonTasks} tasks`);
  const rows: string[] = [];
  let run = 0;
  try {
    for (const latencyMs of latencies) {
      await toxiproxy.setLatency(proxy.name, { latencyMs, jitterMs: latencyMs > 0 ? jitter : 0 });
      const name = (what: string) => `bench-latency-${process.pid}-${run++}-${what}`;
      const ours = await workerRun(await filledQueue(name('worker'), noops(tasks)), tasks, concurrency, proxied);
      const bareUrlMany = await filledQueue(name('bare'), noops(tasks));
      const bareMany = await bareLoop(bareUrlMany, tasks, MAX_LEASES_IN_FLIGHT, through);
      const bareUrlOne = await filledQueue(name('bare1'), noops(tasks));
      const bareOne = await bareLoop(bareUrlOne, tasks, 1, through);
      const ptqName = name('ptq');
      await filledQueue(ptqName, noops(pythonTasks, PTQ_NOOP_KEY));
      const python = await pythonPoll(`sqs://${ptqName}`, pythonTasks, through);
      const added = `${latencyMs} ms${latencyMs > 0 ? ` ± ${jitter}` : ''}`;
      rows.push(
        `${added.padEnd(11)} ${ours.toFixed(0).padStart(9)} ${bareMany.toFixed(0).padStart(10)} ` +
          `${(ours / bareMany).toFixed(2).padStart(6)}× ${bareOne.toFixed(0).padStart(9)} ` +
          `${python.toFixed(1).padStart(9)} ${(ours / python).toFixed(1).padStart(7)}×   load ${load()}`,
      );
    }
  } finally {
    await toxiproxy.stop();
    await fauxqs.stop();
  }
  print(`added RTT    worker/s  bare ${MAX_LEASES_IN_FLIGHT}-loop/s  ratio  bare 1-loop/s  ptq poll/s  vs ptq`);
  for (const row of rows) print(row);
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
