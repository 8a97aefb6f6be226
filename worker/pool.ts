/**
 * The task threads: one `node:worker_threads` thread per concurrency slot, so task code (CPU-bound
 * or not) never runs on the event loop that renews leases, answers /healthz and handles signals.
 * Each thread has its own heap limit: a task that exceeds it ends only its own thread. A thread
 * that was terminated, ran out of memory or crashed is replaced.
 */
import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import type { FromThread, ThreadData, ThreadError, ToThread } from './threadProtocol';

export type RunResult =
  | { readonly kind: 'returned' }
  | { readonly kind: 'threw'; readonly error: ThreadError }
  /** Ended by `terminate()`. */
  | { readonly kind: 'terminated' }
  | { readonly kind: 'out-of-memory' }
  /** The thread died on its own: an error outside the task's promise, `process.exit`, a failed start. */
  | { readonly kind: 'crashed'; readonly error: ThreadError };

export interface ThreadJob {
  readonly body: string;
  readonly taskId: string;
  readonly attempt: number;
  /** A pino JSON line the task logged. */
  readonly onLog: (line: string) => void;
}

export interface PoolOptions extends ThreadData {
  readonly size: number;
  /** Old-generation heap limit of each thread, in MB. */
  readonly heapMb: number;
}

/**
 * Under tsx (`npm run worker`, the tests) the thread loads worker/thread.ts through tsx's require
 * hook, which worker threads do not inherit; the esbuild bundle has `worker-thread.js` beside it.
 */
function threadEntry(): { readonly script: string; readonly eval: boolean } {
  if (!__filename.endsWith('.ts')) return { script: path.join(__dirname, 'worker-thread.js'), eval: false };
  const hook = require.resolve('tsx/cjs');
  const entry = path.join(__dirname, 'thread.ts');
  return { script: `require(${JSON.stringify(hook)}); require(${JSON.stringify(entry)});`, eval: true };
}

/** One task thread; runs one task at a time. */
export class TaskThread {
  private readonly thread: Thread;
  private job: { readonly onLog: (line: string) => void; readonly resolve: (result: RunResult) => void } | undefined;
  private terminating = false;
  private failure: RunResult | undefined;
  /** Ended (terminated, out of memory, crashed): replace it. */
  dead = false;
  /** Resolves once the task module is loaded (or the thread died trying). */
  readonly ready: Promise<void>;
  /** `ready` has resolved. */
  loaded = false;
  private markReady!: () => void;

  constructor(options: PoolOptions) {
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve)).then(() => {
      this.loaded = true;
    });
    const entry = threadEntry();
    const workerData: ThreadData = {
      tasksModule: options.tasksModule,
      defaultCloudpath: options.defaultCloudpath,
      logLevel: options.logLevel,
    };
    this.thread = new Thread(entry.script, {
      eval: entry.eval,
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: options.heapMb },
    });
    this.thread.on('message', (message: FromThread) => {
      if (message.type === 'log') this.job?.onLog(message.line);
      else if (message.type === 'ready') this.markReady();
      else this.settle(message.error ? { kind: 'threw', error: message.error } : { kind: 'returned' });
    });
    this.thread.on('error', (error: Error & { code?: string }) => {
      this.failure ??=
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? { kind: 'out-of-memory' }
          : {
              kind: 'crashed',
              error: { name: error.name, message: error.message, stack: error.stack, permanent: false },
            };
    });
    this.thread.on('exit', (code) => {
      this.dead = true;
      this.markReady();
      this.settle(
        this.terminating
          ? { kind: 'terminated' }
          : (this.failure ?? {
              kind: 'crashed',
              error: { name: 'ThreadExited', message: `the task's thread exited with code ${code}`, permanent: false },
            }),
      );
    });
  }

  run(job: ThreadJob): Promise<RunResult> {
    if (this.job || this.dead) throw new Error('internal error: task thread is busy or dead');
    return new Promise((resolve) => {
      this.job = { onLog: job.onLog, resolve };
      const message: ToThread = { type: 'run', body: job.body, taskId: job.taskId, attempt: job.attempt };
      this.thread.postMessage(message);
    });
  }

  /** Aborts the running task's `context.signal`. */
  abort(name: string, message: string): void {
    if (this.job && !this.dead) this.thread.postMessage({ type: 'abort', name, message } satisfies ToThread);
  }

  /** Ends the thread, whatever its task is doing; the task's run resolves `terminated`. */
  terminate(): Promise<void> {
    if (!this.dead) this.terminating = true;
    return this.thread.terminate().then(() => undefined);
  }

  private settle(result: RunResult): void {
    const job = this.job;
    this.job = undefined;
    job?.resolve(result);
  }
}

/** `size` threads, started at once so the task module is loaded before the first task arrives. */
export class ThreadPool {
  private readonly idle: TaskThread[] = [];
  private readonly all = new Set<TaskThread>();
  private closed = false;

  constructor(private readonly options: PoolOptions) {
    for (let i = 0; i < options.size; i++) this.idle.push(this.spawn());
  }

  /** An idle thread; the caller never holds more than `size` at once. Give it back with `give`. */
  take(): TaskThread {
    let thread = this.idle.pop();
    if (!thread) throw new Error('internal error: more tasks started than task threads');
    if (thread.dead) {
      // Died while idle (e.g. it could not start): a fresh one; its task fails if this one does too.
      this.all.delete(thread);
      thread = this.spawn();
    }
    return thread;
  }

  give(thread: TaskThread): void {
    if (thread.dead) {
      this.all.delete(thread);
      if (!this.closed) this.idle.push(this.spawn());
    } else {
      this.idle.push(thread);
    }
  }

  /** Resolves once every thread has loaded the task module (or died trying). */
  async ready(): Promise<void> {
    await Promise.all([...this.all].map((thread) => thread.ready));
  }

  /** Dead threads are no longer replaced (shutdown). */
  retire(): void {
    this.closed = true;
  }

  /** Terminates every thread. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((thread) => thread.terminate()));
  }

  private spawn(): TaskThread {
    const thread = new TaskThread(this.options);
    this.all.add(thread);
    return thread;
  }
}
