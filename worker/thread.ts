/**
 * A task thread's entry point (bundled as `worker-thread.js` beside `worker.js`). It loads the same
 * task module as the main thread, then runs the jobs it is sent one after another: parses the body
 * with the task's schema, opens its storage, calls the function with a context whose log lines and
 * abort signal cross to and from the main thread, and answers `done`. Jobs sent ahead wait here,
 * so a short task follows the last without a round trip; `cancel` hands back those not started.
 * The main thread owns everything else: the queue, leases, timeouts, signals and every outcome.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { openStorage } from '../lib/storage';
import type { Storage } from '../lib/storage/types';
import { isPermanentError, TaskContext } from '../lib/task';
import { tasks as projectTasks } from '../tasks';
import { LazyAbort } from './lazyAbort';
import { loadTaskModule, TaskRegistry } from './registry';
import { FromThread, ThreadData, ThreadJob, toThreadError, ToThread } from './threadProtocol';

const port = parentPort;
if (!port) throw new Error('worker/thread.ts runs as a worker thread of the worker, not on its own');
const data = workerData as ThreadData;
const send = (message: FromThread) => port.postMessage(message);

const registry = data.tasksModule ? loadTaskModule(data.tasksModule) : new TaskRegistry(projectTasks, 'tasks/index.ts');
/** The job running now: its log lines carry its number. */
let current: { readonly id: number; readonly abort: LazyAbort } | undefined;
// The main thread adds the task id, name and attempt, and formats the line (JSON or pretty).
const log = pino(
  { level: data.logLevel, messageKey: 'message', base: null, timestamp: false },
  { write: (line: string) => send({ type: 'log', id: current?.id ?? -1, line }) },
);
const storages = new Map<string, Storage>();
const waiting: ThreadJob[] = [];
let draining = false;

port.on('message', (message: ToThread) => {
  switch (message.type) {
    case 'run':
      for (const job of message.jobs) waiting.push(job);
      if (!draining) void drain();
      return;
    case 'abort': {
      if (current?.id !== message.id) return;
      const reason = new Error(message.message);
      reason.name = message.name;
      current.abort.abort(reason);
      return;
    }
    case 'cancel':
      send({ type: 'cancelled', ids: waiting.splice(0).map((job) => job.id) });
      return;
  }
});
send({ type: 'ready' });

async function drain(): Promise<void> {
  draining = true;
  for (let job = waiting.shift(); job; job = waiting.shift()) await run(job);
  draining = false;
}

async function run(job: ThreadJob): Promise<void> {
  const abort = new LazyAbort();
  current = { id: job.id, abort };
  const started = performance.now();
  try {
    const parsed = registry.parse(job.body);
    const cloudpath = parsed.cloudpath ?? data.defaultCloudpath;
    const context: TaskContext = {
      taskId: job.taskId,
      attempt: job.attempt,
      storage: storageFor(cloudpath),
      log,
      get signal() {
        return abort.signal;
      },
    };
    await parsed.definition.run(parsed.params, context);
    send({ type: 'done', id: job.id, ms: performance.now() - started });
  } catch (error) {
    const ms = performance.now() - started;
    send({ type: 'done', id: job.id, ms, error: toThreadError(error, isPermanentError(error)) });
  } finally {
    current = undefined;
  }
}

function storageFor(cloudpath: string): Storage {
  let storage = storages.get(cloudpath);
  if (!storage) storages.set(cloudpath, (storage = openStorage(cloudpath)));
  return storage;
}
