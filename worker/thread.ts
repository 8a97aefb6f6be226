/**
 * A task thread's entry point (bundled as `worker-thread.js` beside `worker.js`). It loads the same
 * task module as the main thread, then runs one task per `run` message: parses the body with the
 * task's schema, opens its storage, calls the function with a context whose log lines and abort
 * signal cross to and from the main thread, and answers `done`. The main thread owns everything
 * else: the queue, leases, timeouts, signals and every outcome.
 */
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { openStorage } from '../lib/storage';
import type { Storage } from '../lib/storage/types';
import { isPermanentError, TaskContext } from '../lib/task';
import { tasks as projectTasks } from '../tasks';
import { LazyAbort } from './lazyAbort';
import { loadTaskModule, TaskRegistry } from './registry';
import { FromThread, ThreadData, toThreadError, ToThread } from './threadProtocol';

const port = parentPort;
if (!port) throw new Error('worker/thread.ts runs as a worker thread of the worker, not on its own');
const data = workerData as ThreadData;
const send = (message: FromThread) => port.postMessage(message);

const registry = data.tasksModule ? loadTaskModule(data.tasksModule) : new TaskRegistry(projectTasks, 'tasks/index.ts');
// The main thread adds the task id, name and attempt, and formats the line (JSON or pretty).
const log = pino(
  { level: data.logLevel, messageKey: 'message', base: null, timestamp: false },
  { write: (line: string) => send({ type: 'log', line }) },
);
const storages = new Map<string, Storage>();
let abort: LazyAbort | undefined;

port.on('message', (message: ToThread) => {
  if (message.type === 'abort') {
    const reason = new Error(message.message);
    reason.name = message.name;
    abort?.abort(reason);
    return;
  }
  void run(message);
});
send({ type: 'ready' });

async function run(job: Extract<ToThread, { type: 'run' }>): Promise<void> {
  const current = (abort = new LazyAbort());
  try {
    const parsed = registry.parse(job.body);
    const cloudpath = parsed.cloudpath ?? data.defaultCloudpath;
    const context: TaskContext = {
      taskId: job.taskId,
      attempt: job.attempt,
      storage: storageFor(cloudpath),
      log,
      get signal() {
        return current.signal;
      },
    };
    await parsed.definition.run(parsed.params, context);
    send({ type: 'done' });
  } catch (error) {
    send({ type: 'done', error: toThreadError(error, isPermanentError(error)) });
  } finally {
    if (abort === current) abort = undefined;
  }
}

function storageFor(cloudpath: string): Storage {
  let storage = storages.get(cloudpath);
  if (!storage) storages.set(cloudpath, (storage = openStorage(cloudpath)));
  return storage;
}
