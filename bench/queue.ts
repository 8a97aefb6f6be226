/**
 * Queue benchmark (not a test): `npm run bench -- queue [--tasks 10000] [--dir /dev/shm/x]
 * [--disk-dir DIR] [--concurrency 16] [--rounds 3] [--skip-disk] [--skip-sqs] [--skip-pubsub] [--skip-fq]`.
 *
 * Inserts, then leases+deletes N trivial tasks on the file queue (tmpfs and disk) and on SQS
 * (a fauxqs server started here), and beside each prints the rate of the bare operations in the
 * same run: for the file queue the file operations the format needs (write+rename+journal per
 * insert; rename+journal+read+2 unlinks+tally per completion), for SQS a bare SendMessageBatch
 * loop (and ReceiveMessage+DeleteMessage loop) at the same concurrency, for Pub/Sub (Google's
 * pstest, started here) the client library's publisher with the same batching and flow control,
 * and unary pull + ack loops. Each measurement runs in
 * its own child process, so its peak memory (max RSS) is its own. Figures are medians of rounds.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createQueue, openQueue, QueueMessage } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { startFauxqs } from '../test/support/fauxqs';
import { startPstest } from '../test/support/pstest';
import { v1 } from '@google-cloud/pubsub';
import { PUBLISH_BATCHING, BATCH_MAX_MESSAGES } from '../lib/queue/pubsubInsert';
import { DEFAULT_ACK_DEADLINE_SECONDS } from '../lib/queue/pubsubAdmin';
import { openBarePubsub, sendSqsBatches } from './support/bareClients';

interface Measurement {
  readonly insertPerSecond: number;
  readonly leaseDeletePerSecond: number;
  /** Peak resident memory of the measuring process, MiB. */
  readonly peakRssMiB: number;
}

type Phase = 'fq-bare' | 'fq-ours' | 'sqs-bare' | 'sqs-ours' | 'pubsub-bare' | 'pubsub-ours';

/** Tasks per lease call in the Pub/Sub loops (one pull each). */
const PUBSUB_LEASE_COUNT = 100;

const TASK_KEY = ['bench.queue', 'noop'] as const;

function bodies(n: number, queueName: string): QueueMessage[] {
  return Array.from({ length: n }, (_, i) => encodeTask(TASK_KEY, { i }, queueName));
}

function rate(n: number, startedAt: number): number {
  return n / ((performance.now() - startedAt) / 1000);
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** The file operations python-task-queue's format needs, with nothing else around them. */
function bareFileQueue(root: string, n: number): Measurement {
  const queueDir = path.join(root, 'queue');
  const movementDir = path.join(root, 'movement');
  for (const dir of [queueDir, movementDir]) fs.mkdirSync(dir, { recursive: true });
  const payloads = bodies(n, root);

  let started = performance.now();
  for (const { id, body } of payloads) {
    const name = `0--${id}.json`;
    const tmp = path.join(root, `.tmp-${id}`);
    // the order the queue module uses: journal, then the task written aside (in the root) and renamed in
    fs.writeFileSync(path.join(movementDir, id), `${name}\n`, { flag: 'wx' });
    fs.writeFileSync(tmp, body);
    fs.renameSync(tmp, path.join(queueDir, name));
  }
  const insertPerSecond = rate(n, started);

  started = performance.now();
  const leaseTs = Math.floor(Date.now() / 1000) + 600;
  const completions = path.join(root, 'completions');
  for (const name of fs.readdirSync(queueDir)) {
    const id = name.slice(name.indexOf('--') + 2, -'.json'.length);
    const leased = `${leaseTs}--${id}.json`;
    fs.renameSync(path.join(queueDir, name), path.join(queueDir, leased));
    fs.appendFileSync(path.join(movementDir, id), `${leased}\n`);
    fs.readFileSync(path.join(queueDir, leased), 'utf8');
    fs.unlinkSync(path.join(queueDir, leased));
    fs.unlinkSync(path.join(movementDir, id));
    fs.appendFileSync(completions, '\0');
  }
  return { insertPerSecond, leaseDeletePerSecond: rate(n, started), peakRssMiB: peakRssMiB() };
}

async function ourFileQueue(root: string, n: number): Promise<Measurement> {
  const url = await createQueue(`fq://${root}`);
  const queue = await openQueue(url);
  const payloads = bodies(n, root);
  let started = performance.now();
  await queue.insert(payloads);
  const insertPerSecond = rate(n, started);

  started = performance.now();
  let done = 0;
  for (;;) {
    const tasks = await queue.lease({ count: 10, seconds: 600 });
    if (tasks.length === 0) break;
    for (const task of tasks) await queue.delete(task);
    done += tasks.length;
  }
  const leaseDeletePerSecond = rate(done, started);
  await queue.close();
  if (done !== n) throw new Error(`leased ${done} of ${n} tasks`);
  return { insertPerSecond, leaseDeletePerSecond, peakRssMiB: peakRssMiB() };
}

/** A bare SendMessageBatch loop, and ReceiveMessage+DeleteMessage loops, at `concurrency`. */
async function bareSqs(url: string, n: number, concurrency: number): Promise<Measurement> {
  const client = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS });
  const payloads = bodies(n, url);
  let started = performance.now();
  await sendSqsBatches(client, url, payloads, concurrency);
  const insertPerSecond = rate(n, started);

  started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < n) {
        const reply = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            VisibilityTimeout: 600,
            WaitTimeSeconds: 1,
          }),
        );
        for (const message of reply.Messages ?? []) {
          await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
          done++;
        }
      }
    }),
  );
  const leaseDeletePerSecond = rate(n, started);
  client.destroy();
  return { insertPerSecond, leaseDeletePerSecond, peakRssMiB: peakRssMiB() };
}

async function ourSqs(url: string, n: number, concurrency: number): Promise<Measurement> {
  const queue = await openQueue(url);
  const payloads = bodies(n, url);
  let started = performance.now();
  await queue.insert(payloads, { concurrency });
  const insertPerSecond = rate(n, started);

  started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < n) {
        const tasks = await queue.lease({ count: 10, seconds: 600, waitSeconds: 1 });
        for (const task of tasks) {
          await queue.delete(task);
          done++;
        }
      }
    }),
  );
  const leaseDeletePerSecond = rate(n, started);
  await queue.close();
  return { insertPerSecond, leaseDeletePerSecond, peakRssMiB: peakRssMiB() };
}

/** The client library's publisher with our batching and flow control, then pull + ack loops. */
async function barePubsub(url: string, n: number, concurrency: number): Promise<Measurement> {
  const { pubsub, names } = openBarePubsub(url);
  const subscriber = new v1.SubscriberClient({ ...pubsub.options });
  const topic = pubsub.topic(names.topic, { batching: PUBLISH_BATCHING });
  const payloads = bodies(n, url);
  let started = performance.now();
  const window = concurrency * BATCH_MAX_MESSAGES;
  for (let i = 0; i < payloads.length; i += window) {
    await Promise.all(
      payloads
        .slice(i, i + window)
        .map(({ id, body }) => topic.publishMessage({ data: Buffer.from(body), attributes: { taskId: id } })),
    );
  }
  const insertPerSecond = rate(n, started);

  started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < n) {
        const [reply] = await subscriber.pull({
          subscription: names.subscription,
          maxMessages: PUBSUB_LEASE_COUNT,
          returnImmediately: false,
        });
        for (const message of reply.receivedMessages ?? []) {
          await subscriber.acknowledge({ subscription: names.subscription, ackIds: [message.ackId!] });
          done++;
        }
      }
    }),
  );
  const leaseDeletePerSecond = rate(n, started);
  await subscriber.close();
  await pubsub.close();
  return { insertPerSecond, leaseDeletePerSecond, peakRssMiB: peakRssMiB() };
}

async function ourPubsub(url: string, n: number, concurrency: number): Promise<Measurement> {
  const queue = await openQueue(url);
  const payloads = bodies(n, url);
  let started = performance.now();
  await queue.insert(payloads, { concurrency });
  const insertPerSecond = rate(n, started);

  started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (done < n) {
        const tasks = await queue.lease({
          count: PUBSUB_LEASE_COUNT,
          seconds: DEFAULT_ACK_DEADLINE_SECONDS,
          waitSeconds: 1,
        });
        for (const task of tasks) {
          await queue.delete(task);
          done++;
        }
      }
    }),
  );
  const leaseDeletePerSecond = rate(n, started);
  await queue.close();
  return { insertPerSecond, leaseDeletePerSecond, peakRssMiB: peakRssMiB() };
}

/** Child mode: one measurement, printed as JSON on the last line. */
async function measure(phase: Phase, target: string, n: number, concurrency: number): Promise<Measurement> {
  switch (phase) {
    case 'fq-bare':
      return bareFileQueue(target, n);
    case 'fq-ours':
      return ourFileQueue(target, n);
    case 'sqs-bare':
      return bareSqs(target, n, concurrency);
    case 'sqs-ours':
      return ourSqs(target, n, concurrency);
    case 'pubsub-bare':
      return barePubsub(target, n, concurrency);
    case 'pubsub-ours':
      return ourPubsub(target, n, concurrency);
  }
}

function runChild(
  phase: Phase,
  target: string,
  n: number,
  concurrency: number,
  env: NodeJS.ProcessEnv = process.env,
): Measurement {
  const child = spawnSync(
    process.execPath,
    [
      '-r',
      'tsx/cjs',
      __filename,
      '--child',
      phase,
      '--target',
      target,
      '--tasks',
      String(n),
      '--concurrency',
      String(concurrency),
    ],
    {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    },
  );
  if (child.status !== 0) throw new Error(`benchmark child ${phase} failed with status ${child.status}`);
  const last = child.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Measurement;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function summarise(results: Measurement[]): Measurement {
  return {
    insertPerSecond: median(results.map((r) => r.insertPerSecond)),
    leaseDeletePerSecond: median(results.map((r) => r.leaseDeletePerSecond)),
    peakRssMiB: Math.max(...results.map((r) => r.peakRssMiB)),
  };
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(8);

function report(label: string, bare: Measurement, ours: Measurement, bareName: string): void {
  const line = (name: string, m: Measurement) =>
    `  ${name.padEnd(26)} insert ${fmt(m.insertPerSecond)}/s   lease+delete ` +
    `${fmt(m.leaseDeletePerSecond)}/s   peak RSS ${m.peakRssMiB.toFixed(0).padStart(4)} MiB`;
  process.stdout.write(`${label}\n${line(bareName, bare)}\n${line('queue module', ours)}\n`);
  process.stdout.write(
    `  ratio (ours / bare):       insert ` +
      `${(ours.insertPerSecond / bare.insertPerSecond).toFixed(2).padStart(8)}×   lease+delete ` +
      `${(ours.leaseDeletePerSecond / bare.leaseDeletePerSecond).toFixed(2).padStart(8)}×\n\n`,
  );
}

function fileQueueRounds(label: string, base: string, n: number, rounds: number): void {
  const bare: Measurement[] = [];
  const ours: Measurement[] = [];
  fs.mkdirSync(base, { recursive: true });
  try {
    for (let round = 0; round < rounds; round++) {
      // alternate which goes first, so drift in machine load does not favour one side
      const order: Array<'fq-bare' | 'fq-ours'> = round % 2 === 0 ? ['fq-bare', 'fq-ours'] : ['fq-ours', 'fq-bare'];
      for (const phase of order) {
        const root = path.join(base, `${phase}-${round}`);
        (phase === 'fq-bare' ? bare : ours).push(runChild(phase, root, n, 1));
        fs.rmSync(root, { recursive: true, force: true });
      }
    }
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  report(label, summarise(bare), summarise(ours), 'bare file operations');
}

async function sqsRounds(n: number, concurrency: number, rounds: number): Promise<void> {
  const server = await startFauxqs();
  const env = { ...process.env, ...server.env };
  try {
    Object.assign(process.env, server.env);
    const bare: Measurement[] = [];
    const ours: Measurement[] = [];
    for (let round = 0; round < rounds; round++) {
      const order: Array<'sqs-bare' | 'sqs-ours'> =
        round % 2 === 0 ? ['sqs-bare', 'sqs-ours'] : ['sqs-ours', 'sqs-bare'];
      for (const phase of order) {
        const url = await createQueue(`sqs://bench-${phase}-${round}`);
        (phase === 'sqs-bare' ? bare : ours).push(runChild(phase, url, n, concurrency, env));
      }
    }
    report(
      `SQS (fauxqs on this machine), ${concurrency} calls in flight`,
      summarise(bare),
      summarise(ours),
      'bare SDK calls',
    );
  } finally {
    await server.stop();
  }
}

async function pubsubRounds(n: number, concurrency: number, rounds: number): Promise<void> {
  const server = await startPstest();
  const env = { ...process.env, ...server.env };
  try {
    Object.assign(process.env, server.env);
    const bare: Measurement[] = [];
    const ours: Measurement[] = [];
    for (let round = 0; round < rounds; round++) {
      const order: Array<'pubsub-bare' | 'pubsub-ours'> =
        round % 2 === 0 ? ['pubsub-bare', 'pubsub-ours'] : ['pubsub-ours', 'pubsub-bare'];
      for (const phase of order) {
        const url = await createQueue(`pubsub://bench-project/bench-${phase}-${round}`);
        (phase === 'pubsub-bare' ? bare : ours).push(runChild(phase, url, n, concurrency, env));
      }
    }
    report(
      `Pub/Sub (pstest on this machine), ${concurrency} pulls in flight`,
      summarise(bare),
      summarise(ours),
      'bare client calls',
    );
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '10000' },
      dir: { type: 'string', default: `/dev/shm/queue-bench-${process.pid}` },
      'disk-dir': { type: 'string', default: path.join(os.tmpdir(), `queue-bench-${process.pid}`) },
      concurrency: { type: 'string', default: '16' },
      rounds: { type: 'string', default: '3' },
      'skip-disk': { type: 'boolean', default: false },
      'skip-sqs': { type: 'boolean', default: false },
      'skip-pubsub': { type: 'boolean', default: false },
      'skip-fq': { type: 'boolean', default: false },
      child: { type: 'string' },
      target: { type: 'string' },
    },
  });
  const n = Number(values.tasks);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  if (![n, concurrency, rounds].every((x) => Number.isInteger(x) && x > 0)) {
    throw new Error('--tasks, --concurrency and --rounds take positive whole numbers');
  }
  if (values.child) {
    const result = await measure(values.child as Phase, values.target!, n, concurrency);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  process.stdout.write(
    `queue benchmark: ${n.toLocaleString('en-US')} trivial tasks, median of ${rounds} round(s), ` +
      `${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}\n\n`,
  );
  if (!values['skip-fq']) fileQueueRounds(`file queue on ${values.dir}`, values.dir, n, rounds);
  if (!values['skip-fq'] && !values['skip-disk'])
    fileQueueRounds(`file queue on ${values['disk-dir']}`, values['disk-dir'], n, rounds);
  if (!values['skip-sqs']) await sqsRounds(n, concurrency, rounds);
  if (!values['skip-pubsub']) await pubsubRounds(n, concurrency, rounds);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
