/**
 * How long `npm run status` takes (not a test):
 * `npm run bench -- status [--runs 7] [--latency 30] [--jitter 5] [--fq URL] [--skip-sqs] [--skip-pubsub]`.
 *
 * Times the command as a user starts it (`npm run status -- --queue URL`) and without npm (the
 * script's own `node ...` line), alternating, `--runs` times each: the median wall time, and the
 * median CPU time of the whole process tree (GNU time's user + system). Targets: the file queue at
 * `--fq` (e.g. the ten-million-task one of `fq-scale --keep`), and SQS (fauxqs, 1,000 messages) and
 * Pub/Sub (pstest, 20 dead letters) through toxiproxy at 0 ms and at `--latency` ms ± `--jitter`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createQueue, openQueue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { startToxiproxy } from '../test/support/toxiproxy';
import { withProxiedPubsub, withProxiedSqs } from './support/proxiedServers';

const ROOT = path.resolve(__dirname, '..');
const GNU_TIME = '/usr/bin/time';
const TASK_KEY = ['bench.status', 'noop'] as const;
const SQS_MESSAGES = 1000;
const PUBSUB_DEAD_LETTERS = 20;

interface Timing {
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
}

/** The command line of `npm run status` without npm: the script's own (`node --require tsx/cjs cli/status.ts`). */
function statusScript(): string[] {
  const scripts = (
    JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  ).scripts;
  return scripts.status!.split(' ');
}

function timeOnce(command: string[], env: NodeJS.ProcessEnv, scratch: string): Timing {
  const out = path.join(scratch, 'time.txt');
  const child = spawnSync(GNU_TIME, ['-f', '%e %U %S', '-o', out, ...command], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.status !== 0) throw new Error(`${command.join(' ')} exited ${child.status}: ${child.stderr}`);
  const [wall, user, system] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { wallSeconds: wall!, cpuSeconds: user! + system! };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** `runs` alternating runs of `npm run status` and of its node line on `url`; prints one line each. */
function timeStatus(label: string, url: string, env: NodeJS.ProcessEnv, runs: number, scratch: string): void {
  const args = ['--queue', url];
  const commands = {
    'npm run status': ['npm', 'run', '--silent', 'status', '--', ...args],
    [statusScript().join(' ')]: [...statusScript(), ...args],
  };
  const timings = new Map<string, Timing[]>();
  for (let run = 0; run < runs; run++) {
    for (const [name, command] of Object.entries(commands)) {
      timings.set(name, [...(timings.get(name) ?? []), timeOnce(command, env, scratch)]);
    }
  }
  for (const [name, measured] of timings) {
    const walls = measured.map((t) => t.wallSeconds);
    process.stdout.write(
      `${label}: ${name}: wall ${median(walls).toFixed(2)} s (${Math.min(...walls).toFixed(2)}–` +
        `${Math.max(...walls).toFixed(2)}), CPU ${median(measured.map((t) => t.cpuSeconds)).toFixed(2)} s, ` +
        `load ${os.loadavg()[0]!.toFixed(1)}\n`,
    );
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '7' },
      latency: { type: 'string', default: '30' },
      jitter: { type: 'string', default: '5' },
      fq: { type: 'string' },
      'skip-sqs': { type: 'boolean', default: false },
      'skip-pubsub': { type: 'boolean', default: false },
    },
  });
  if (!existsSync(GNU_TIME))
    throw new Error(`${GNU_TIME} (GNU time) is needed to measure CPU time: apt-get install time`);
  const runs = Number(values.runs);
  const latencies = [0, Number(values.latency)];
  const jitter = Number(values.jitter);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'bench-status-'));
  process.stdout.write(
    `status: medians of ${runs} runs each, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}\n`,
  );
  try {
    if (values.fq) timeStatus(`file queue ${values.fq}`, values.fq, process.env, runs, scratch);
    if (values['skip-sqs'] && values['skip-pubsub']) return;
    const proxy = await startToxiproxy();
    try {
      if (!values['skip-sqs']) {
        await withProxiedSqs(proxy, async (env) => {
          const url = await createQueue('sqs://bench-status');
          const queue = await openQueue(url);
          await queue.insert(Array.from({ length: SQS_MESSAGES }, (_, i) => encodeTask(TASK_KEY, { i }, url)));
          await queue.close();
          for (const latency of latencies) {
            await proxy.setLatency('sqs', { latencyMs: latency, jitterMs: latency === 0 ? 0 : jitter });
            timeStatus(`SQS (fauxqs) at ${latency} ms`, url, env, runs, scratch);
          }
        });
      }
      if (!values['skip-pubsub']) {
        await withProxiedPubsub(proxy, async (env) => {
          const url = await createQueue('pubsub://bench-project/bench-status');
          const queue = await openQueue(url);
          await queue.insert(Array.from({ length: PUBSUB_DEAD_LETTERS }, (_, i) => encodeTask(TASK_KEY, { i }, url)));
          const leased = await queue.lease({ count: PUBSUB_DEAD_LETTERS, seconds: 60, waitSeconds: 2 });
          for (const task of leased) {
            await queue.deadLetter(task, {
              taskId: task.id,
              body: task.body,
              reason: 'TaskError',
              message: 'bench',
              attempts: task.attempt,
              worker: 'bench/1',
              failedAt: new Date().toISOString(),
            });
          }
          await queue.close();
          for (const latency of latencies) {
            await proxy.setLatency('pubsub', { latencyMs: latency, jitterMs: latency === 0 ? 0 : jitter });
            timeStatus(`Pub/Sub (pstest, ${leased.length} dead letters) at ${latency} ms`, url, env, runs, scratch);
          }
        });
      }
    } finally {
      await proxy.stop();
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
