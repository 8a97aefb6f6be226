/**
 * `npm start`: the whole job on this machine, in one command.
 *
 *   1. create the queue if needed (the default: a file queue under local/);
 *   2. if the queue still holds tasks from an interrupted run, resume them; otherwise insert the
 *      parameter table (the example table is written first on a fresh clone), skipping rows whose
 *      output already exists;
 *   3. run several worker processes (default: one per CPU) until the queue is drained;
 *   4. show live progress, then a summary and where the outputs are.
 *
 * Ctrl-C stops cleanly: the workers finish or release their tasks, nothing is lost, and running
 * `npm start` again resumes.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import { integerBetween, parseSeconds } from '../lib/cli/args';
import {
  addCommonOptions,
  addSettingOptions,
  CommonOptions,
  runMain,
  settingsFrom,
  workerSettingKeys,
} from '../lib/cli/options';
import { SETTING_KEYS, SettingKey, settingsToProcessEnv, type TaskSettings } from '../lib/settings';
import { findTask, insertTable } from '../lib/insert';
import { watchQueue, plainLinesDisplay, terminalDisplay } from '../lib/ops/watch';
import { formatCount, formatDuration, formatRate } from '../lib/ops/units';
import { createQueue, openQueue } from '../lib/queue';
import type { Queue, QueueCounts } from '../lib/queue/types';
import { parseQueueUrl } from '../lib/urls/queue';
import { EXIT_STOPPED_BEFORE_DRAINED } from '../lib/exitCodes';
import { tasks } from '../tasks';
import { startDashboard, type RunningDashboard } from '../dashboard';
import { DEFAULT_PORT } from '../dashboard/server';
import { UserError } from '../lib/errors';
import { makeDirs } from '../lib/makeDirs';
import { RunStore } from '../lib/runs/store';
import { readRuns, type RunProgress } from '../lib/runs/summary';

interface RunLocalOptions extends CommonOptions {
  dashboard: boolean;
  dashboardPort: number;
  workers: number;
  task?: string;
  fresh?: boolean;
  logDir: string;
  interval: number;
  limit?: number;
}

/** Exit code after Ctrl-C, as shells report a SIGINT death. */
const INTERRUPTED_EXIT = 130;

/** Signals closer together than this are one Ctrl-C delivered twice, not a second Ctrl-C. */
const SAME_SIGNAL_MS = 1000;

const program = addSettingOptions(
  addCommonOptions(
    new Command('npm start --')
      .description(
        'Run the job locally: insert the parameter table, run workers until the queue is drained, show ' +
          'progress and a summary.',
      )
      .addOption(
        new Option('--workers <n>', 'worker processes to run (one per CPU by default)')
          .argParser(integerBetween(1))
          .default(availableParallelism()),
      )
      .option('--task <module.name>', 'the task to insert (default: the first in tasks/index.ts)')
      .option('--fresh', 'purge the queue first instead of resuming tasks left by an interrupted run')
      .option('--limit <rows>', 'insert only the first N rows of the table (a smoke test)', integerBetween(1))
      .option('--log-dir <dir>', 'where each worker writes its JSON log', 'local/logs')
      .addOption(new Option('--interval <seconds>', 'progress refresh interval').argParser(parseSeconds).default(1))
      .option('--no-dashboard', 'do not serve the dashboard (a local web page) while the run lasts')
      .addOption(
        new Option('--dashboard-port <n>', 'port of the dashboard (taken: any free one)')
          .argParser(integerBetween(1, 65535))
          .default(DEFAULT_PORT),
      )
      .addHelpText('after', '\nCtrl-C stops cleanly (tasks are finished or released); run npm start again to resume.'),
  ),
  // Each worker process takes these; a metrics port would clash between them, and exiting when
  // the queue is empty is what npm start always does.
  workerSettingKeys(['metricsPort', 'exitWhenEmpty']),
);

/** The queue, created when it is a file queue that does not exist yet. */
async function prepareQueue(settings: TaskSettings): Promise<Queue> {
  if (parseQueueUrl(settings.queueUrl).kind === 'fq') await createQueue(settings.queueUrl);
  return openQueue(settings.queueUrl);
}

/** Settings each worker process gets from this run (the rest are npm start's own, or would clash). */
const NOT_FOR_WORKERS: readonly SettingKey[] = ['paramsFile', 'metricsPort', 'exitWhenEmpty'];

/** The environment a worker process needs to see exactly this run's settings. */
function workerEnv(settings: TaskSettings): NodeJS.ProcessEnv {
  const keys = SETTING_KEYS.filter((key) => !NOT_FOR_WORKERS.includes(key));
  return { ...process.env, ...settingsToProcessEnv(Object.fromEntries(keys.map((key) => [key, settings[key]]))) };
}

/**
 * Starts one worker process. It gets its own process group (`detached`), so a Ctrl-C in the
 * terminal reaches only this runner, which forwards exactly one SIGINT: two would mean "force".
 */
function startWorker(index: number, settings: TaskSettings, logDir: string): ChildProcess {
  const log = createWriteStream(path.join(logDir, `worker-${index}.log`), { flags: 'a' });
  const child = spawn(
    process.execPath,
    ['--require', require.resolve('tsx/cjs'), path.resolve(__dirname, '..', 'worker', 'main.ts'), '--exit-when-empty'],
    { env: workerEnv(settings), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function summaryLines(
  before: QueueCounts,
  after: QueueCounts,
  seconds: number,
  settings: TaskSettings,
  logDir: string,
  run?: RunProgress,
): string[] {
  // This run's own counts when the run store has them; else what the queue's counters moved by.
  const completed = run ? run.done : (after.completed ?? 0) - (before.completed ?? 0);
  const failed = run ? run.failed : after.failed - before.failed;
  const of = run?.inserted === null || run === undefined ? '' : ` of ${formatCount(run.inserted)}`;
  const lines = [
    `done: ${formatCount(completed)}${of} tasks completed, ${formatCount(failed)} failed` +
      `${run ? ` (run ${run.id})` : ''}, ${formatCount(after.enqueued)} left in the queue, ` +
      `in ${formatDuration(seconds)} (${formatRate(seconds > 0 ? completed / seconds : 0)})`,
    `outputs: ${settings.cloudpath}`,
    `worker logs: ${logDir}/worker-*.log`,
  ];
  if (after.failed > 0)
    lines.push(
      `${formatCount(after.failed)} task(s) are dead-lettered: npm run failures (then npm run requeue once fixed)`,
    );
  return lines;
}

/**
 * The dashboard for the length of the run, on the same queue: on `port`, or any free port when
 * that one is taken (another run's dashboard). It is a convenience: if it cannot start, the run goes on.
 */
async function serveDashboard(
  queue: Queue,
  settings: TaskSettings,
  port: number,
  intervalSeconds: number,
  say: (line: string) => void,
): Promise<RunningDashboard | undefined> {
  const start = (on: number) => startDashboard(queue, { port: on, intervalSeconds, settings });
  try {
    const dashboard = await start(port).catch((error: unknown) => {
      if (error instanceof UserError && /is in use/.test(error.message)) return start(0);
      throw error;
    });
    say(`dashboard: ${dashboard.url} (while this run lasts; npm run dashboard serves one any time)`);
    return dashboard;
  } catch (error) {
    say(`dashboard not started (the run goes on): ${(error as Error).message.split('\n', 1)[0]}`);
    return undefined;
  }
}

async function main(): Promise<number> {
  const options = program.parse().opts<RunLocalOptions>();
  const settings = settingsFrom(options);
  const task = findTask(options.task, tasks);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();

  const queue = await prepareQueue(settings);
  try {
    if (options.fresh) {
      await queue.purge();
      await RunStore.open(queue.url, settings.cloudpath).clear();
      say(`purged ${queue.url}`);
    }
    const before = await queue.counts();
    // insert looks at the queue first: this table's run still queued is resumed, not inserted twice;
    // another table goes in beside what is there, with a note saying what that is.
    const inserted = await insertTable({ settings, task, log: say, limit: options.limit });
    const runId = inserted.alreadyQueued?.run ?? inserted.run?.id;
    if (inserted.alreadyQueued) {
      say(`resuming ${inserted.alreadyQueued.description} (use --fresh to start over)`);
    } else {
      say(
        `inserted ${formatCount(inserted.inserted)} tasks as run ${runId} (${formatCount(inserted.skipped)} of ` +
          `${formatCount(inserted.read)} rows skipped: output already there)`,
      );
    }
    const store = RunStore.open(queue.url, settings.cloudpath);

    makeDirs(options.logDir);
    say(`running ${options.workers} worker process(es) on ${queue.url}; outputs go to ${settings.cloudpath}`);
    const workers = Array.from({ length: options.workers }, (_, i) => startWorker(i + 1, settings, options.logDir));

    const dashboard = options.dashboard
      ? await serveDashboard(queue, settings, options.dashboardPort, options.interval, say)
      : undefined;

    const stopWatching = new AbortController();
    let interrupted = false;
    let firstSignalAt = 0;
    const onSigint = () => {
      // One Ctrl-C can arrive twice (from the terminal and relayed by npm/tsx): count it once.
      if (interrupted && Date.now() - firstSignalAt < SAME_SIGNAL_MS) return;
      if (!interrupted) {
        interrupted = true;
        firstSignalAt = Date.now();
        say('\nstopping: running tasks finish or are released (Ctrl-C again to release them now)');
      } else {
        say('releasing running tasks now');
      }
      for (const child of workers) if (child.exitCode === null) child.kill('SIGINT');
      stopWatching.abort();
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);

    const allExited = Promise.all(workers.map(exited));
    // Once the workers are gone, give the display one more sample (it stops by itself on a drained
    // queue, showing 100 %); a queue left non-empty (workers crashed) ends the watch after that.
    void allExited
      .then(() => sleep(options.interval * 1000 + 250, undefined, { signal: stopWatching.signal }))
      .catch(() => undefined)
      .then(() => stopWatching.abort());
    const display = process.stdout.isTTY
      ? terminalDisplay(process.stdout, runId)
      : plainLinesDisplay(process.stdout, process.stderr);
    const watch = { intervalSeconds: options.interval, display, signal: stopWatching.signal, runs: store };
    await watchQueue(queue, watch);
    const codes = await allExited;
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await dashboard?.close();

    const after = await queue.counts();
    const run = runId ? (await readRuns(store, Date.now(), [runId])).runs[0] : undefined;
    const seconds = (Date.now() - started) / 1000;
    for (const line of summaryLines(before, after, seconds, settings, options.logDir, run)) say(line);
    // After Ctrl-C a worker says "stopped before the queue was drained" (exit 3): expected, not a crash.
    const crashed = codes.filter((code) => code !== 0 && !(interrupted && code === EXIT_STOPPED_BEFORE_DRAINED)).length;
    if (crashed > 0) say(`${crashed} worker process(es) exited with an error: see ${options.logDir}`);
    if (interrupted) {
      say('interrupted: nothing was lost; run npm start again to resume');
      return INTERRUPTED_EXIT;
    }
    return crashed > 0 || after.failed > 0 || after.enqueued > 0 ? 1 : 0;
  } finally {
    await queue.close();
  }
}

void runMain(main);
