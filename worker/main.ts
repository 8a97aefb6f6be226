/**
 * `npm run worker`: lease tasks from the queue (`queueUrl`, --queue) and run them until stopped (SIGTERM/SIGINT) or,
 * with --exit-when-empty, until the queue is empty. The container image runs this file bundled by
 * esbuild (`node worker.js`), configured by environment variables alone.
 *
 * Exit codes: 0 stopped cleanly (with --exit-when-empty: the queue is drained); 1 the queue refused
 * the worker while it ran; 2 bad configuration; 3 (--exit-when-empty only) stopped by a signal while
 * work remains, so a Kubernetes work-queue Job replaces the pod instead of counting the run as done.
 */
import { Command, Option } from 'commander';
import { hostname } from 'node:os';
import { DEFAULT_FLUSH_MS, LOCAL_FLUSH_MS, RunRecorder } from '../lib/runs/recorder';
import { RunStore } from '../lib/runs/store';
import { codeVersion } from '../lib/runs/codeVersion';
import { setTimeout as delay } from 'node:timers/promises';
import {
  addCommonOptions,
  addSettingOptions,
  CommonOptions,
  runMain,
  settingsFrom,
  workerSettingKeys,
} from '../lib/cli/options';
import { isUserFacingError, UserError } from '../lib/errors';
import { envName, type TaskSettings } from '../lib/settings';
import { openQueue, QueueError } from '../lib/queue';
import type { Queue } from '../lib/queue/types';
import { openStorage } from '../lib/storage';
import { tasks as projectTasks } from '../tasks';
import { Backoff, SECOND } from './backoff';
import { createLogger, Logger, wantsPretty } from './logger';
import { serveMetrics, workerMetrics } from './metrics';
import { loadTaskModule, TaskRegistry } from './registry';
import { EXIT_BAD_CONFIG, EXIT_OK, EXIT_STOPPED_BEFORE_DRAINED } from '../lib/exitCodes';
import { WorkerOptionsError } from './options';
import { installShutdownSignals } from './signals';
import { Worker } from './worker';

interface WorkerCliOptions extends CommonOptions {
  tasks?: string;
  maxRetryDelay: string;
}

function command(): Command {
  return addSettingOptions(addCommonOptions(new Command('worker')), workerSettingKeys())
    .description(
      'Lease tasks from the queue and run them; renews leases, retries, dead-letters, ' +
        'and shuts down cleanly on SIGTERM/SIGINT.',
    )
    .addOption(
      new Option('--tasks <module>', 'module exporting `tasks` (default: tasks/index.ts, built into the worker)'),
    )
    .addOption(
      new Option(
        '--max-retry-delay <seconds>',
        'cap on the retry delay of a failed task (5 s, 10 s, 20 s, ... up to this)',
      ).default('300'),
    )
    .showHelpAfterError();
}

interface Setup {
  readonly settings: TaskSettings;
  readonly registry: TaskRegistry;
  readonly maxRetryDelaySeconds: number;
  readonly log: Logger;
}

/** Everything that can be wrong with the configuration, checked before touching the queue. */
function setup(options: WorkerCliOptions): Setup {
  const settings = settingsFrom(options);
  const registry = options.tasks ? loadTaskModule(options.tasks) : new TaskRegistry(projectTasks, 'tasks/index.ts');
  try {
    openStorage(settings.cloudpath);
  } catch (error) {
    throw new UserError(`${envName('cloudpath')}=${JSON.stringify(settings.cloudpath)}: ${(error as Error).message}`);
  }
  if (!/^\d+$/.test(options.maxRetryDelay)) {
    throw new UserError(
      `--max-retry-delay ${JSON.stringify(options.maxRetryDelay)} must be a whole number of seconds, e.g. 300`,
    );
  }
  return {
    settings,
    registry,
    maxRetryDelaySeconds: Number(options.maxRetryDelay),
    log: createLogger({ level: settings.logLevel, pretty: wantsPretty(settings.logFormat) }),
  };
}

/**
 * Opens the queue and checks it is there and ours to use (one cheap call), waiting out an
 * unreachable backend instead of crash-looping; a missing queue or missing rights end the start.
 */
async function openQueuePatiently(url: string, log: Logger, signal: AbortSignal): Promise<Queue | undefined> {
  const backoff = new Backoff({ baseMs: SECOND, capMs: 30 * SECOND });
  while (!signal.aborted) {
    let queue: Queue | undefined;
    try {
      // The file queue's leases and deletes on a thread of their own: off the lease loop's thread.
      queue = await openQueue(url, { fileQueueThread: true });
      await queue.isEmpty();
      return queue;
    } catch (error) {
      await queue?.close();
      if (!(error instanceof QueueError && error.transient)) throw error;
      const waitMs = backoff.next();
      log.warn({ err: error, retryInMs: Math.round(waitMs) }, `cannot reach the queue ${url}; retrying`);
      await delay(waitMs, undefined, { signal }).catch(() => undefined);
    }
  }
  return undefined;
}

async function main(): Promise<number> {
  const options = command().parse().opts<WorkerCliOptions>();
  let config: Setup;
  try {
    config = setup(options);
  } catch (error) {
    if (!isUserFacingError(error)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return EXIT_BAD_CONFIG;
  }
  const { settings, registry, log } = config;

  // Signals: before the worker exists they cancel startup; afterwards they stop it (twice: at once).
  const startup = new AbortController();
  let worker: Worker | undefined;
  const signals = installShutdownSignals({
    log,
    graceSeconds: settings.graceSeconds,
    exitCode: () => (settings.exitWhenEmpty ? EXIT_STOPPED_BEFORE_DRAINED : EXIT_OK),
    onSignal: () => {
      startup.abort();
      void worker?.stop();
    },
  });

  let queue: Queue | undefined;
  try {
    queue = await openQueuePatiently(settings.queueUrl, log, startup.signal);
  } catch (error) {
    if (!isUserFacingError(error)) throw error;
    process.stderr.write(`error: ${envName('queueUrl')}=${settings.queueUrl}: ${error.message}\n`);
    return EXIT_BAD_CONFIG;
  }
  if (!queue) return EXIT_OK;

  const workerId = `${hostname()}:${process.pid}`;
  const recorder = new RunRecorder(RunStore.open(queue.url, settings.cloudpath), {
    worker: workerId,
    queue: queue.url,
    codeVersion: codeVersion(),
    flushMs: queue.kind === 'fq' ? LOCAL_FLUSH_MS : DEFAULT_FLUSH_MS,
    onError: (error) => log.warn({ err: error }, 'could not write the run counts; trying again in a few seconds'),
  });
  try {
    worker = new Worker({
      queue,
      recorder,
      registry,
      defaultCloudpath: settings.cloudpath,
      log,
      leaseSeconds: settings.leaseSeconds,
      maxAttempts: settings.maxAttempts,
      concurrency: settings.concurrency,
      graceSeconds: settings.graceSeconds,
      exitWhenEmpty: settings.exitWhenEmpty,
      maxRetryDelaySeconds: config.maxRetryDelaySeconds,
      taskTimeoutSeconds: settings.taskTimeoutSeconds === 0 ? undefined : settings.taskTimeoutSeconds,
      taskHeapMb: settings.taskHeapMb,
      workerId,
    });
  } catch (error) {
    if (!(error instanceof WorkerOptionsError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    await queue.close();
    return EXIT_BAD_CONFIG;
  }
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (settings.metricsPort !== undefined) {
    try {
      metrics = await serveMetrics(worker, workerMetrics(worker), settings.metricsPort);
    } catch (error) {
      process.stderr.write(
        `error: ${envName('metricsPort')}=${settings.metricsPort}: ` +
          `cannot listen (${(error as Error).message}); pick a free port or unset it\n`,
      );
      await queue.close();
      return EXIT_BAD_CONFIG;
    }
  }
  try {
    await recorder.start();
    await worker.start();
    if (settings.exitWhenEmpty && signals() > 0 && !(await queue.isEmpty().catch(() => false))) {
      log.info({ exitCode: EXIT_STOPPED_BEFORE_DRAINED }, 'stopped before the queue was drained');
      return EXIT_STOPPED_BEFORE_DRAINED;
    }
  } finally {
    await recorder.close();
    await metrics?.close();
    await queue.close();
  }
  return EXIT_OK;
}

// Exit explicitly: a task that ignored its abort signal must not keep a stopped worker alive.
void runMain(main).then(() => process.exit());
