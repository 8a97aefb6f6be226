/**
 * What counting outcomes per run costs a worker (docs/operations.md, "Exact counts per run").
 *
 *   npm run bench -- runs [--tasks 1000000] [--flushes 50] [--s3]
 *
 * 1. Per task: `started` + `settled` of the outcome recorder (in memory) against a bare loop doing
 *    the same bookkeeping-free iteration, in the same run. This is all a task pays.
 * 2. Per flush: writing one run's counts and the heartbeat to the run store, on the file queue's
 *    folder (tmpfs and disk) and, with --s3, to S3 on the fauxqs server. A worker flushes every 5 s,
 *    so a flush costs a task (flush time) / (tasks per 5 s).
 * The load average is printed before and after: the machine may be shared.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { RunRecorder } from '../lib/runs/recorder';
import { RunStore } from '../lib/runs/store';
import { openStorage } from '../lib/storage';
import { startFauxqs } from '../test/support/fauxqs';

const options = new Command('npm run bench -- runs')
  .option('--tasks <n>', 'recorder calls to time', (v) => Number(v), 1_000_000)
  .option('--flushes <n>', 'flushes to time per store', (v) => Number(v), 50)
  .option('--s3', 'also flush to S3 on a local fauxqs server')
  .parse()
  .opts<{ tasks: number; flushes: number; s3?: boolean }>();

const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const RUNS = ['r-20261202-000000-aaaa', 'r-20261202-000000-bbbb'];

function timeBare(n: number): number {
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += RUNS[i & 1]!.length;
  const ms = performance.now() - t0;
  if (sink < 0) throw new Error('unreachable');
  return ms;
}

function timeRecorder(n: number, recorder: RunRecorder): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const run = RUNS[i & 1];
    recorder.started(run, 1);
    recorder.settled(run, i % 50 === 0 ? 'retried' : 'completed');
  }
  return performance.now() - t0;
}

async function timeFlushes(label: string, store: RunStore, flushes: number): Promise<void> {
  const recorder = new RunRecorder(store, { worker: 'bench:1', queue: 'bench', codeVersion: 'src-bench' });
  const times: number[] = [];
  for (let i = 0; i < flushes; i++) {
    recorder.started(RUNS[0], 1);
    recorder.settled(RUNS[0], 'completed');
    const t0 = performance.now();
    await recorder.flush();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  const p90 = times[Math.floor(times.length * 0.9)]!;
  const per1k = (median / (1000 * 5)) * 1000; // µs per task at 1,000 tasks/s, flushing every 5 s
  console.log(
    `flush ${label.padEnd(10)} median ${median.toFixed(2)} ms, p90 ${p90.toFixed(2)} ms ` +
      `(one run's counts + heartbeat) = ${per1k.toFixed(3)} µs per task at 1,000 tasks/s per worker`,
  );
}

async function main(): Promise<void> {
  console.log(`load average before: ${load()}`);
  const dir = mkdtempSync(path.join('/dev/shm', 'bench-runs-'));
  const store = RunStore.open(`fq://${dir}`, 'file:///unused');
  const recorder = new RunRecorder(store, { worker: 'bench:1', queue: 'bench', codeVersion: 'src-bench' });
  timeBare(options.tasks); // warm up both loops
  timeRecorder(options.tasks, recorder);
  const bare = timeBare(options.tasks);
  const counted = timeRecorder(options.tasks, recorder);
  const nsPerTask = ((counted - bare) / options.tasks) * 1e6;
  console.log(
    `per task: bare loop ${((bare / options.tasks) * 1e6).toFixed(1)} ns, with the recorder ` +
      `${((counted / options.tasks) * 1e6).toFixed(1)} ns: ${nsPerTask.toFixed(1)} ns per task for counting ` +
      `(${(counted / bare).toFixed(1)}× the bare loop, ${options.tasks.toLocaleString('en-US')} tasks)`,
  );
  await timeFlushes('fq tmpfs', store, options.flushes);
  const diskDir = mkdtempSync(path.join(os.tmpdir(), 'bench-runs-'));
  await timeFlushes('fq disk', RunStore.open(`fq://${diskDir}`, 'file:///unused'), options.flushes);
  if (options.s3) {
    const server = await startFauxqs();
    Object.assign(process.env, server.env);
    try {
      const { S3Client, CreateBucketCommand } = await import('@aws-sdk/client-s3');
      await new S3Client({ endpoint: server.endpoint, forcePathStyle: true }).send(
        new CreateBucketCommand({ Bucket: 'bench-runs' }),
      );
      await timeFlushes(
        's3 fauxqs',
        new RunStore(openStorage('s3://bench-runs/_gke-batch/sqs-bench')),
        options.flushes,
      );
    } finally {
      await server.stop();
    }
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(diskDir, { recursive: true, force: true });
  console.log(`load average after: ${load()}`);
}

void main();
