/**
 * The file queue at scale (not a test): `npm run bench -- fq-scale --dir DIR [--tasks 1000000] [--keep]`.
 *
 * Inserts `--tasks` trivial tasks into `fq://DIR/queue-bench` from a generator (nothing held in
 * memory but the current chunk) and prints the rate and this process's peak RSS; then, with all of
 * them queued, the latency of single lease calls (the first opens the directory stream, later ones
 * continue it: python-task-queue lists the whole folder on every lease instead), and how long
 * `counts()` — what `npm run status` shows — takes. The queue is removed afterwards unless `--keep`
 * (then a second run with `--tasks 0` measures leases and counts on it again).
 *
 * Mind the space: every task is two files (task + journal), on tmpfs a 4 KiB page each; see
 * docs/queue.md for how the 10-million-task figures were made.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createQueue, openQueue, type QueueMessage } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';

const TASK_KEY = ['bench.fq', 'noop'] as const;

function peakRssMiB(): number {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

function* tasks(n: number, queueName: string): Generator<QueueMessage> {
  for (let i = 0; i < n; i++) yield encodeTask(TASK_KEY, { i }, queueName);
}

const ms = (startedAt: number) => performance.now() - startedAt;
const count = (n: number) => n.toLocaleString('en-US');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      tasks: { type: 'string', default: '1000000' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (!values.dir) throw new Error('--dir DIR is required (a folder on the file system to measure)');
  const n = Number(values.tasks);
  if (!Number.isInteger(n) || n < 0) throw new Error('--tasks takes a whole number ≥ 0');
  const root = path.resolve(values.dir, 'queue-bench');
  const url = await createQueue(`fq://${root}`);
  const queue = await openQueue(url);
  process.stdout.write(`fq at scale: ${url}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}\n`);
  try {
    if (n > 0) {
      let done = 0;
      let lastReport = performance.now();
      const started = performance.now();
      await queue.insert(tasks(n, url), {
        onProgress: (stored) => {
          done += stored;
          if (performance.now() - lastReport > 30_000) {
            lastReport = performance.now();
            process.stdout.write(`  ... ${count(done)} inserted, ${Math.round(done / (ms(started) / 1000))}/s\n`);
          }
        },
      });
      const seconds = ms(started) / 1000;
      process.stdout.write(
        `insert ${count(n)}: ${seconds.toFixed(1)} s, ${count(Math.round(n / seconds))} tasks/s, ` +
          `peak RSS ${peakRssMiB().toFixed(0)} MiB\n`,
      );
    }
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const leased = await queue.lease({ count: 1, seconds: 600 });
      latencies.push(ms(started));
      if (leased.length !== 1) throw new Error(`lease ${i + 1} got ${leased.length} tasks`);
      await queue.release(leased[0]!);
    }
    process.stdout.write(`lease of 1 task, 5 calls: ${latencies.map((l) => `${l.toFixed(1)} ms`).join(', ')}\n`);
    const started = performance.now();
    const counts = await queue.counts();
    process.stdout.write(
      `counts() (npm run status): ${ms(started).toFixed(0)} ms, enqueued ${count(counts.enqueued)}, ` +
        `leased ${count(counts.leased)}, inserted ${count(counts.inserted ?? 0)}` +
        `${counts.approximate ? ' (estimated)' : ' (exact)'}; peak RSS ${peakRssMiB().toFixed(0)} MiB\n`,
    );
  } finally {
    await queue.close();
    if (!values.keep) fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
