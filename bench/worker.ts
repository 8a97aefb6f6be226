/**
 * Worker throughput: N no-op tasks drained by ONE worker process (`worker/main.ts
 * --exit-when-empty`, logging at info as in production), on the file queue on tmpfs (/dev/shm),
 * the file queue on disk (os.tmpdir()), and SQS on the fauxqs server. Goals (issue 14): ≥ 0.5× the
 * bare file operations a file-queue task needs, measured in the same run (rename (claim) + journal
 * append + read + 2 unlinks (task file, journal) + completions tally), and ≥ 4× python-task-queue's
 * own `poll` loop on the same kind of file queue, also measured in the same run.
 *
 *   npm run bench -- worker [--tasks 10000] [--concurrency 1,10] [--backends fq-tmpfs,fq-disk,sqs]
 *                           [--python-tasks 3000] [--cpu-tasks 30] [--cpu-n 2000000]
 *
 * Then CPU-bound tasks (each counts the primes below --cpu-n by trial division, never yielding)
 * on the file queue on tmpfs at concurrency 1 and 2: with task threads, 2 should complete close
 * to twice the tasks per second of 1 on 2 free cores. The load averages printed before and after
 * say how much else the (shared) machine was doing.
 *
 * "tasks/s" is from the worker's own summary (first lease to empty queue); "wall" adds process
 * start-up (tsx compiling the TypeScript on the fly; the bundled image starts faster).
 * "tasks/CPU-s" divides by the worker process's CPU time instead: on a busy shared machine it is
 * the steadier estimate of what one idle core would do (SQS excepted: there the server's work
 * and the round trips dominate, and the server runs outside the worker).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { createQueue, openQueue, QueueMessage } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { noopTask, primesTask } from '../test/fixtures/tasks';
import { startFauxqs, type FauxqsServer } from '../test/support/fauxqs';
import { PTQ_NOOP_KEY, pythonPoll } from './python/ptqPoll';

const ROOT = path.resolve(__dirname, '..');
const FIXTURE_TASKS = path.join(ROOT, 'test', 'fixtures', 'tasks', 'index.ts');
const BACKENDS = ['fq-tmpfs', 'fq-disk', 'sqs'] as const;
type Backend = (typeof BACKENDS)[number];

interface Run {
  readonly backend: Backend;
  readonly concurrency: number;
  readonly tasks: number;
  readonly insertSeconds: number;
  readonly workSeconds: number;
  /** The worker process's CPU time while it ran: the figure that contention on a shared machine distorts least. */
  readonly cpuSeconds: number;
  /** The main thread's share: what bounds a worker's pace with short tasks. */
  readonly mainThreadCpuSeconds: number;
  readonly wallSeconds: number;
}

function scratchDir(backend: Backend): string {
  const parent = backend === 'fq-tmpfs' ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(parent, 'bench-worker-'));
}

function bodies(count: number): QueueMessage[] {
  return Array.from({ length: count }, (_, i) => encodeTask(noopTask.key, { i }, 'bench'));
}

function cpuBodies(count: number, n: number): QueueMessage[] {
  return Array.from({ length: count }, () => encodeTask(primesTask.key, { n }, 'bench'));
}

/** The CPU figures the worker's "task threads ready" line carries: what loading the threads took. */
interface StartCpu {
  readonly cpuSeconds: number;
  readonly mainThreadCpuSeconds: number;
}

/** Inserts the tasks, runs one worker process until the queue is empty, reads its summary line. */
async function runOnce(
  backend: Backend,
  concurrency: number,
  tasks: number,
  sqs?: FauxqsServer,
  make: (count: number) => QueueMessage[] = bodies,
): Promise<Run> {
  const dir = scratchDir(backend);
  try {
    const url = await createQueue(
      backend === 'sqs'
        ? `sqs://bench-worker-${process.pid}-${concurrency}-${Date.now()}`
        : `fq://${path.join(dir, 'queue')}`,
    );
    const queue = await openQueue(url);
    let insertSeconds: number;
    try {
      const insertStart = performance.now();
      const inserted = await queue.insert(make(tasks), { concurrency: 8 });
      insertSeconds = (performance.now() - insertStart) / 1000;
      if (inserted !== tasks) throw new Error(`inserted ${inserted} of ${tasks} tasks`);
    } finally {
      await queue.close();
    }

    const logFile = path.join(dir, 'worker.log');
    const out = fs.openSync(logFile, 'w');
    const wallStart = performance.now();
    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '-r',
          'tsx/cjs',
          path.join(ROOT, 'worker', 'main.ts'),
          '--queue',
          url,
          '--tasks',
          FIXTURE_TASKS,
          '--cloudpath',
          `file://${dir}/out`,
          '--concurrency',
          String(concurrency),
          '--lease',
          '60',
          '--exit-when-empty',
          '--log-level',
          'info',
        ],
        { cwd: ROOT, stdio: ['ignore', out, 'inherit'], env: { ...process.env, ...(sqs?.env ?? {}) } },
      );
      child.once('error', reject);
      child.once('exit', resolve);
    });
    const wallSeconds = (performance.now() - wallStart) / 1000;
    fs.closeSync(out);
    const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
    // Leasing begins while the threads load the task module; no task runs before they have. The
    // figures are for the steady state after that (the start-up is the image bench's subject).
    const started = lines
      .map((line) => JSON.parse(line) as { message?: string; time: string } & StartCpu)
      .find((line) => line.message === 'task threads ready');
    if (!started) throw new Error(`${backend}: the worker never logged "task threads ready"`);
    const summary = JSON.parse(lines.at(-1)!) as {
      message: string;
      time: string;
      succeeded: number;
      durationSeconds: number;
      cpuSeconds: number;
      mainThreadCpuSeconds: number;
    };
    if (exitCode !== 0 || summary.message !== 'worker stopped' || summary.succeeded !== tasks) {
      throw new Error(`${backend}: worker exited ${exitCode}; last line: ${lines.at(-1)}`);
    }
    return {
      backend,
      concurrency,
      tasks,
      insertSeconds,
      workSeconds: (Date.parse(summary.time) - Date.parse(started.time)) / 1000,
      cpuSeconds: summary.cpuSeconds - started.cpuSeconds,
      mainThreadCpuSeconds: summary.mainThreadCpuSeconds - started.mainThreadCpuSeconds,
      wallSeconds,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The floor for a file-queue task: the same file operations, in a tight loop, no worker around
 * them. Resolves with tasks per second of wall time and per second of CPU time.
 */
async function bareFileOperations(
  backend: Backend,
  tasks: number,
): Promise<{ perSecond: number; perCpuSecond: number }> {
  const dir = scratchDir(backend);
  try {
    const root = path.join(dir, 'queue');
    const queue = await openQueue(await createQueue(`fq://${root}`));
    await queue.insert(bodies(tasks));
    await queue.close();
    const queueDir = path.join(root, 'queue');
    const names = fs.readdirSync(queueDir).filter((name) => name.endsWith('.json'));
    const leasedUntil = Math.floor(Date.now() / 1000) + 60;
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (const name of names) {
      const id = name.slice(name.indexOf('--') + 2, -'.json'.length);
      const leased = `${leasedUntil}--${id}.json`;
      fs.renameSync(path.join(queueDir, name), path.join(queueDir, leased));
      fs.appendFileSync(path.join(root, 'movement', id), `${leased}\n`);
      fs.readFileSync(path.join(queueDir, leased), 'utf8');
      fs.unlinkSync(path.join(queueDir, leased));
      fs.unlinkSync(path.join(root, 'movement', id));
      fs.appendFileSync(path.join(root, 'completions'), '\0');
    }
    const { user, system } = process.cpuUsage(cpu);
    return {
      perSecond: names.length / ((performance.now() - started) / 1000),
      perCpuSecond: names.length / ((user + system) / 1e6),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The queue module alone: lease one task, delete it, repeat, in this process with no worker around
 * it. Separates the queue's cost from the worker's in the table.
 */
async function queueOnly(backend: Backend, tasks: number): Promise<{ perSecond: number; perCpuSecond: number }> {
  const dir = scratchDir(backend);
  try {
    const queue = await openQueue(await createQueue(`fq://${path.join(dir, 'queue')}`));
    await queue.insert(bodies(tasks));
    const started = performance.now();
    const cpu = process.cpuUsage();
    let done = 0;
    for (;;) {
      const [task] = await queue.lease({ count: 1, seconds: 60 });
      if (!task) break;
      await queue.delete(task);
      done++;
    }
    const { user, system } = process.cpuUsage(cpu);
    await queue.close();
    if (done !== tasks) throw new Error(`queue-only loop finished ${done} of ${tasks} tasks`);
    return { perSecond: done / ((performance.now() - started) / 1000), perCpuSecond: done / ((user + system) / 1e6) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** python-task-queue's `poll` on the same kind of file queue: the baseline issue 14 compares against. */
async function pythonOnFileQueue(backend: Backend, tasks: number): Promise<number> {
  const dir = scratchDir(backend);
  try {
    const url = await createQueue(`fq://${path.join(dir, 'queue')}`);
    const queue = await openQueue(url);
    await queue.insert(Array.from({ length: tasks }, (_, i) => encodeTask(PTQ_NOOP_KEY, { i }, 'bench')));
    await queue.close();
    return await pythonPoll(url, tasks);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

async function main(): Promise<void> {
  const options = new Command('bench worker')
    .addOption(new Option('--tasks <n>', 'no-op tasks per run').default('10000'))
    .addOption(new Option('--concurrency <list>', 'worker concurrency values to try').default('1,10'))
    .addOption(new Option('--backends <list>', `any of ${BACKENDS.join(', ')}`).default(BACKENDS.join(',')))
    .addOption(new Option('--python-tasks <n>', "tasks for python-task-queue's poll (0: skip)").default('3000'))
    .addOption(new Option('--cpu-tasks <n>', 'CPU-bound tasks per run (0: skip that part)').default('30'))
    .addOption(new Option('--cpu-n <n>', 'each CPU-bound task counts the primes below this').default('2000000'))
    .parse()
    .opts<{
      tasks: string;
      concurrency: string;
      backends: string;
      pythonTasks: string;
      cpuTasks: string;
      cpuN: string;
    }>();
  const tasks = Number(options.tasks);
  const pythonTasks = Number(options.pythonTasks);
  const backends = list(options.backends) as Backend[];
  const unknown = backends.filter((b) => !BACKENDS.includes(b));
  if (!Number.isInteger(tasks) || tasks <= 0 || unknown.length > 0) {
    throw new Error(
      `usage: --tasks N (a positive integer), --backends ${BACKENDS.join(',')}` +
        (unknown.length ? `; unknown: ${unknown.join(', ')}` : ''),
    );
  }
  const concurrencies = list(options.concurrency).map(Number);

  const fauxqs = backends.includes('sqs') ? await startFauxqs() : undefined;
  if (fauxqs) Object.assign(process.env, fauxqs.env);
  const print = (text: string) => process.stdout.write(`${text}\n`);
  print(
    `worker benchmark: ${tasks} no-op tasks per run, one worker process logging at info (one line per short task), ` +
      `${os.cpus().length} CPUs`,
  );
  print('backend    conc  insert/s  tasks/s  per task  tasks/CPU-s  CPU per task  main thread  wall (s)');
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  print(`load average before: ${load()}`);
  const fixed = (n: number, width: number, digits = 0) => n.toFixed(digits).padStart(width);
  try {
    for (const backend of backends) {
      const rates: Array<{ concurrency: number; perSecond: number; perCpuSecond: number }> = [];
      for (const concurrency of concurrencies) {
        const run = await runOnce(backend, concurrency, tasks, fauxqs);
        rates.push({ concurrency, perSecond: run.tasks / run.workSeconds, perCpuSecond: run.tasks / run.cpuSeconds });
        print(
          `${backend.padEnd(9)} ${String(concurrency).padStart(5)} ${fixed(run.tasks / run.insertSeconds, 9)} ` +
            `${fixed(run.tasks / run.workSeconds, 8)} ${fixed((run.workSeconds / run.tasks) * 1e6, 6)} µs ` +
            `${fixed(run.tasks / run.cpuSeconds, 12)} ${fixed((run.cpuSeconds / run.tasks) * 1e6, 10)} µs ` +
            `${fixed((run.mainThreadCpuSeconds / run.tasks) * 1e6, 9)} µs ${fixed(run.wallSeconds, 9, 2)}`,
        );
      }
      if (backend === 'sqs') continue;
      const alone = await queueOnly(backend, tasks);
      print(
        `${backend.padEnd(9)}  queue module alone (lease 1 + delete, no worker): ` +
          `${alone.perSecond.toFixed(0)} tasks/s, ` +
          `${alone.perCpuSecond.toFixed(0)} tasks/CPU-s`,
      );
      const bare = await bareFileOperations(backend, tasks);
      print(
        `${backend.padEnd(9)}  bare file operations (rename+journal+read+2 unlinks+tally): ` +
          `${bare.perSecond.toFixed(0)} tasks/s (${(1e6 / bare.perSecond).toFixed(0)} µs per task), ` +
          `${bare.perCpuSecond.toFixed(0)} tasks/CPU-s`,
      );
      const python = pythonTasks > 0 ? await pythonOnFileQueue(backend, pythonTasks) : undefined;
      if (python !== undefined) {
        print(`${backend.padEnd(9)}  python-task-queue poll (${pythonTasks} tasks): ${python.toFixed(0)} tasks/s`);
      }
      for (const rate of rates) {
        print(
          `${backend.padEnd(9)}  worker --concurrency ${rate.concurrency}: ` +
            `${(rate.perSecond / bare.perSecond).toFixed(2)}× the bare operations per second ` +
            `(${(rate.perCpuSecond / bare.perCpuSecond).toFixed(2)}× per CPU-second)` +
            (python !== undefined ? `, ${(rate.perSecond / python).toFixed(1)}× python-task-queue's poll` : ''),
        );
      }
    }
    const cpuTasks = Number(options.cpuTasks);
    if (cpuTasks > 0) {
      print(`CPU-bound: ${cpuTasks} tasks counting the primes below ${options.cpuN}, file queue on tmpfs`);
      const rates: number[] = [];
      for (const concurrency of [1, 2]) {
        const run = await runOnce('fq-tmpfs', concurrency, cpuTasks, undefined, (count) =>
          cpuBodies(count, Number(options.cpuN)),
        );
        rates.push(run.tasks / run.workSeconds);
        print(
          `  concurrency ${concurrency}: ${rates.at(-1)!.toFixed(2)} tasks/s, ` +
            `${(run.cpuSeconds / run.workSeconds).toFixed(2)} cores busy (CPU-s per second)`,
        );
      }
      print(`  concurrency 2 / concurrency 1: ${(rates[1]! / rates[0]!).toFixed(2)}×`);
    }
  } finally {
    await fauxqs?.stop();
  }
  print(`load average after: ${load()}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
