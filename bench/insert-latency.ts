/**
 * Insert at cloud latency (not a test): `npm run bench -- insert-latency [--tasks 50000]
 * [--latency 30] [--jitter 5] [--concurrency 128] [--skip-sqs] [--skip-pubsub] [--skip-python]`.
 *
 * Real SQS and Pub/Sub calls take 10–40 ms; the test servers on loopback answer in well under one.
 * Here toxiproxy (built by scripts/test-tools.sh) sits between the client and the test server
 * (fauxqs for SQS, pstest for Pub/Sub) and delays every answer by `--latency` ms ± `--jitter`.
 * For 0 ms (through the same proxy, no delay) and for the latency, it prints side by side:
 *   - a bare client loop: `--concurrency` SendMessageBatch calls of 10 in flight (Pub/Sub: the
 *     client library's batching publisher, a window of `--concurrency` × 1,000 messages);
 *   - our `queue.insert` with its defaults (SQS: the adaptive window, up to 128 calls in flight);
 *   - python-task-queue's own insert on SQS (40 threads, batches of 10), from the tools venv.
 * Each measurement runs in its own child process (peak RSS is its own); medians of `--rounds`. Each
 * cell ends with the cores the test server and the proxy kept busy meanwhile: on this machine they
 * share its cores with the client, so near the core count they, not the client, set the rate.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createQueue, openQueue, QueueMessage } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { BATCH_MAX_MESSAGES, PUBLISH_BATCHING } from '../lib/queue/pubsubInsert';
import { sqsRequestHandler } from '../lib/queue/sqsClient';
import { findTool } from '../test/support/tools';
import { startToxiproxy } from '../test/support/toxiproxy';
import { processesCpuSeconds } from './support/processCpu';
import { withProxiedPubsub, withProxiedSqs } from './support/proxiedServers';
import { openBarePubsub, sendSqsBatches } from './support/bareClients';

type Phase = 'sqs-bare' | 'sqs-ours' | 'sqs-python' | 'pubsub-bare' | 'pubsub-ours';

interface Measurement {
  readonly perSecond: number;
  /** Cores the test server and the proxy kept busy meanwhile (set by the parent, which sees them). */
  readonly serverCores?: number;
  /** null where not measured (the Python child). */
  readonly peakRssMiB: number | null;
  /** CPU time (user + system) of the inserting process per message, µs: what bounds it on a busy machine. */
  readonly cpuMicrosPerMessage: number;
}

const TASK_KEY = ['bench.insert', 'noop'] as const;

function bodies(n: number, queueName: string): QueueMessage[] {
  return Array.from({ length: n }, (_, i) => encodeTask(TASK_KEY, { i, out: '/tmp' }, queueName));
}

function peakRssMiB(): number {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

async function timed(n: number, run: () => Promise<unknown>): Promise<Measurement> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await run();
  const used = process.cpuUsage(cpu);
  return {
    perSecond: n / ((performance.now() - started) / 1000),
    peakRssMiB: peakRssMiB(),
    cpuMicrosPerMessage: (used.user + used.system) / n,
  };
}

/** `concurrency` loops, each sending one SendMessageBatch of 10 after another. */
async function bareSqs(url: string, n: number, concurrency: number): Promise<Measurement> {
  // The settings of our client (lib/queue/sqsClient.ts), so the two differ by our code alone.
  const client = new SQSClient({
    endpoint: process.env.AWS_ENDPOINT_URL_SQS,
    requestHandler: sqsRequestHandler(),
    md5: false,
  });
  const payloads = bodies(n, url);
  const result = await timed(n, () => sendSqsBatches(client, url, payloads, concurrency));
  client.destroy();
  return result;
}

async function ourInsert(url: string, n: number): Promise<Measurement> {
  const queue = await openQueue(url);
  const payloads = bodies(n, url);
  const result = await timed(n, () => queue.insert(payloads));
  await queue.close();
  return result;
}

/** The client library's batching publisher, a sliding window of `concurrency` × 1,000 messages. */
async function barePubsub(url: string, n: number, concurrency: number): Promise<Measurement> {
  const { pubsub, names } = openBarePubsub(url);
  const topic = pubsub.topic(names.topic, { batching: PUBLISH_BATCHING });
  const payloads = bodies(n, url);
  const window = concurrency * BATCH_MAX_MESSAGES;
  const result = await timed(n, async () => {
    const inFlight = new Set<Promise<unknown>>();
    for (const { id, body } of payloads) {
      const p: Promise<unknown> = topic
        .publishMessage({ data: Buffer.from(body), attributes: { taskId: id } })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  });
  await pubsub.close();
  return result;
}

function pythonInsert(url: string, n: number): Measurement {
  const ptqUrl = `sqs://${url.split('/').pop()}`; // python-task-queue takes sqs://NAME
  const scripts = path.resolve(__dirname, '..', 'test', 'python');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-bench-home-'));
  try {
    const child = spawnSync(findTool('python'), [path.join(scripts, 'ptq_bench_insert.py'), ptqUrl, String(n)], {
      cwd: scripts,
      env: { ...process.env, HOME: home, PYTHONPATH: scripts },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    if (child.status !== 0) throw new Error(`ptq_bench_insert.py exited ${child.status}`);
    const { tasks, seconds, cpuSeconds } = JSON.parse(child.stdout.trim().split('\n').pop()!) as {
      tasks: number;
      seconds: number;
      cpuSeconds: number;
    };
    if (tasks !== n) throw new Error(`python-task-queue inserted ${tasks} of ${n}`);
    return { perSecond: n / seconds, peakRssMiB: null, cpuMicrosPerMessage: (cpuSeconds * 1e6) / n };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function measure(phase: Phase, url: string, n: number, concurrency: number): Promise<Measurement> {
  switch (phase) {
    case 'sqs-bare':
      return bareSqs(url, n, concurrency);
    case 'sqs-ours':
    case 'pubsub-ours':
      return ourInsert(url, n);
    case 'sqs-python':
      return pythonInsert(url, n);
    case 'pubsub-bare':
      return barePubsub(url, n, concurrency);
  }
}

function runChild(
  phase: Phase,
  url: string,
  { n, concurrency }: Options,
  env: NodeJS.ProcessEnv,
  serverPids: ReadonlyArray<number | undefined>,
): Measurement {
  const args = ['--child', phase, '--target', url, '--tasks', String(n), '--concurrency', String(concurrency)];
  const serverCpu = processesCpuSeconds(serverPids);
  const child = spawnSync(process.execPath, ['-r', 'tsx/cjs', __filename, ...args], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`benchmark child ${phase} failed with status ${child.status}`);
  const measured = JSON.parse(child.stdout.trim().split('\n').pop()!) as Measurement;
  // Over the inserting part of the child's run (its start-up is not in `perSecond`): a slight overestimate.
  const serverCores = (processesCpuSeconds(serverPids) - serverCpu) / (n / measured.perSecond);
  return { ...measured, serverCores };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A latency's column: rate, ratio to the bare loop, our CPU per message, peak RSS, the servers' cores. */
const CELL = 50;

const rateText = (x: number) => `${Math.round(x).toLocaleString('en-US')}/s`.padStart(10);

interface Options {
  readonly n: number;
  readonly latencies: readonly number[];
  readonly jitter: number;
  readonly concurrency: number;
  readonly rounds: number;
}

/** Runs `phases` at each latency through one proxy; prints one line per phase and latency. */
async function backendRounds(
  title: string,
  phases: ReadonlyArray<{ phase: Phase; label: string }>,
  setLatency: (ms: number) => Promise<void>,
  newQueue: (phase: Phase, round: number, latency: number) => Promise<string>,
  env: NodeJS.ProcessEnv,
  serverPids: ReadonlyArray<number | undefined>,
  options: Options,
): Promise<void> {
  const { latencies, jitter, rounds } = options;
  const figures = new Map<string, Measurement[]>();
  for (const latency of latencies) {
    await setLatency(latency);
    for (let round = 0; round < rounds; round++) {
      // rotate the order, so drift in the machine's load does not favour one side
      const order = phases.map((_, i) => phases[(i + round) % phases.length]!);
      for (const { phase } of order) {
        const url = await newQueue(phase, round, latency);
        const key = `${phase}@${latency}`;
        figures.set(key, [...(figures.get(key) ?? []), runChild(phase, url, options, env, serverPids)]);
      }
    }
  }
  const header = latencies.map((l) => `${l === 0 ? '0 ms' : `${l} ms ± ${jitter}`}`.padStart(CELL)).join('');
  process.stdout.write(`${title}\n  ${''.padEnd(44)}${header}\n`);
  const bare = phases[0]!.phase;
  for (const { phase, label } of phases) {
    const cells = latencies.map((latency) => {
      const runs = figures.get(`${phase}@${latency}`)!;
      const rate = median(runs.map((r) => r.perSecond));
      const base = median(figures.get(`${bare}@${latency}`)!.map((r) => r.perSecond));
      const rss = runs[0]!.peakRssMiB === null ? null : Math.max(...runs.map((r) => r.peakRssMiB ?? 0));
      const cpu = median(runs.map((r) => r.cpuMicrosPerMessage));
      const ratio = phase === bare ? '' : ` ${(rate / base).toFixed(2)}×`;
      const rssText = rss === null ? '' : ` ${rss.toFixed(0)} MiB`;
      const servers = ` ${median(runs.map((r) => r.serverCores ?? 0)).toFixed(2)} cores`;
      const ours = `${rateText(rate)}${ratio.padStart(7)} ${cpu.toFixed(0).padStart(4)} µs${rssText.padStart(8)}`;
      return `${ours}${servers}`.padStart(CELL);
    });
    process.stdout.write(`  ${label.padEnd(44)}${cells.join('')}\n`);
  }
  process.stdout.write('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '50000' },
      latency: { type: 'string', default: '30' },
      jitter: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '128' },
      rounds: { type: 'string', default: '1' },
      'skip-sqs': { type: 'boolean', default: false },
      'skip-pubsub': { type: 'boolean', default: false },
      'skip-python': { type: 'boolean', default: false },
      child: { type: 'string' },
      target: { type: 'string' },
    },
  });
  const n = Number(values.tasks);
  const concurrency = Number(values.concurrency);
  if (values.child) {
    const result = await measure(values.child as Phase, values.target!, n, concurrency);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const options: Options = {
    n,
    latencies: [0, Number(values.latency)],
    jitter: Number(values.jitter),
    concurrency,
    rounds: Number(values.rounds),
  };
  process.stdout.write(
    `insert at cloud latency: ${n.toLocaleString('en-US')} tasks, median of ${options.rounds} round(s), ` +
      `${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)} (toxiproxy adds the latency to every answer)\n\n`,
  );
  const proxy = await startToxiproxy();
  try {
    const setLatency = (name: string) => (ms: number) =>
      proxy.setLatency(name, { latencyMs: ms, jitterMs: ms === 0 ? 0 : options.jitter });
    if (!values['skip-sqs']) {
      await withProxiedSqs(proxy, async (env, serverPid) => {
        const phases: Array<{ phase: Phase; label: string }> = [
          { phase: 'sqs-bare', label: `bare SendMessageBatch loop, ${concurrency} in flight` },
          { phase: 'sqs-ours', label: 'queue.insert (adaptive window)' },
        ];
        if (!values['skip-python'])
          phases.push({ phase: 'sqs-python', label: 'python-task-queue insert (40 threads)' });
        await backendRounds(
          'SQS (fauxqs on this machine)',
          phases,
          setLatency('sqs'),
          (phase, round, latency) => createQueue(`sqs://bench-${phase}-${round}-${latency}`),
          env,
          [serverPid, proxy.pid],
          options,
        );
      });
    }
    if (!values['skip-pubsub']) {
      await withProxiedPubsub(proxy, (env, serverPid) =>
        backendRounds(
          'Pub/Sub (pstest on this machine)',
          [
            { phase: 'pubsub-bare', label: `bare batching publisher, ${concurrency}k window` },
            { phase: 'pubsub-ours', label: 'queue.insert' },
          ],
          setLatency('pubsub'),
          (phase, round, latency) => createQueue(`pubsub://bench-project/bench-${phase}-${round}-${latency}`),
          env,
          [serverPid, proxy.pid],
          options,
        ),
      );
    }
  } finally {
    await proxy.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
