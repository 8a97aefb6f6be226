/**
 * The task threads: one `node:worker_threads` thread per concurrency slot, so task code (CPU-bound
 * or not) never runs on the event loop that renews leases, answers /healthz and handles signals.
 * Each thread has its own heap limit: a task that exceeds it ends only its own thread. A thread
 * that was terminated, ran out of memory or crashed is replaced.
 *
 * A thread may hold jobs beyond the one it runs (sent in one message): waking a sleeping thread
 * costs the sender tens of µs, more than a short task itself. Jobs it had not started when it
 * ended, or that it handed back on `cancelQueued`, resolve `unstarted`.
 */
import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { threadEntry } from '../lib/threadEntry';
import type { FromThread, ThreadData, ThreadError, ToThread } from './threadProtocol';

export type RunResult =
  | { readonly kind: 'returned' }
  | { readonly kind: 'threw'; readonly error: ThreadError }
  /** Ended by `terminate()`. */
  | { readonly kind: 'terminated' }
  | { readonly kind: 'out-of-memory' }
  /** The thread died on its own: an error outside the task's promise, `process.exit`, a failed start. */
  | { readonly kind: 'crashed'; readonly error: ThreadError }
  /** Never began: handed back by `cancelQueued`, or its thread ended before reaching it. */
  | { readonly kind: 'unstarted' };

export interface JobRequest {
  readonly body: string;
  readonly taskId: string;
  readonly attempt: number;
}

/**
 * What a pool reports about its jobs, one object for all of them (no closures per job: with
 * thousands of short tasks per second, each allocation on the main thread counts).
 */
export interface JobListener<Job extends JobRequest> {
  /** A pino JSON line the job's task logged. */
  log(job: Job, line: string): void;
  /** The job began: it was sent to an idle thread, or the thread finished the one before it. */
  start(job: Job): void;
  /** Its time on the thread, in ms, once it returned or threw. */
  time(job: Job, ms: number): void;
}

interface HeldJob<Job extends JobRequest> {
  readonly id: number;
  readonly request: Job;
  readonly resolve: (result: RunResult) => void;
  started: boolean;
}

export interface PoolOptions extends ThreadData {
  readonly size: number;
  /** Old-generation heap limit of each thread, in MB. */
  readonly heapMb: number;
  /**
   * Jobs waiting behind one that has run this long are handed back (`unstarted`), so that a task far
   * slower than those before it does not hold them; undefined: never.
   */
  readonly handBackAfterMs?: number;
}

/** One task thread: runs its jobs one at a time, in the order they were given. */
export class TaskThread<Job extends JobRequest = JobRequest> {
  private readonly thread: Thread;
  /** In order; the first one runs once it is `started`. */
  private readonly held: Array<HeldJob<Job>> = [];
  /** Looks at the running job once it may have run `handBackAfterMs` (one timer per thread, not per job). */
  private handBackTimer: NodeJS.Timeout | undefined;
  private nextId = 0;
  private runningSince = 0;
  private cancelling = false;
  private terminating = false;
  private failure: RunResult | undefined;
  /** The task module is loaded (the thread said `ready`). */
  private loaded = false;
  /** Ended (terminated, out of memory, crashed). */
  dead = false;
  /** Resolves once the task module is loaded (or the thread died trying). */
  readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(
    private readonly options: PoolOptions,
    private readonly listener: JobListener<Job>,
    onExit: (thread: TaskThread<Job>) => void,
  ) {
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve));
    // The esbuild bundle has `worker-thread.js` beside `worker.js` (scripts/build-worker.ts).
    const entry = threadEntry(__filename, path.join(__dirname, 'thread.ts'), 'worker-thread.js');
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
    this.thread.on('message', (message: FromThread) => this.receive(message));
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
      clearTimeout(this.handBackTimer);
      this.markReady();
      onExit(this);
      this.settleAll(code);
    });
  }

  /** Jobs given and not yet resolved (the running one included). */
  get count(): number {
    return this.held.length;
  }

  /** Queues the jobs behind those the thread holds, in one message; a promise per job. */
  run(requests: readonly Job[]): Array<Promise<RunResult>> {
    if (this.dead) throw new Error('internal error: task thread is dead');
    const jobs = [];
    const results = [];
    for (const request of requests) {
      const id = this.nextId++;
      jobs.push({ id, body: request.body, taskId: request.taskId, attempt: request.attempt });
      results.push(new Promise<RunResult>((resolve) => this.held.push({ id, request, resolve, started: false })));
    }
    this.thread.postMessage({ type: 'run', jobs } satisfies ToThread);
    if (this.loaded) this.startFirst();
    this.watchRunning(); // jobs now wait behind one already running
    return results;
  }

  /** The job is in this thread and has begun. */
  running(request: Job): boolean {
    return this.held[0]?.request === request && this.held[0].started;
  }

  /** Aborts the job's `context.signal`, if it is running. */
  abort(request: Job, name: string, message: string): void {
    const first = this.held[0];
    if (this.dead || first?.request !== request || !first.started) return;
    this.thread.postMessage({ type: 'abort', id: first.id, name, message } satisfies ToThread);
  }

  /** Asks for every job not started yet back; they resolve `unstarted`. */
  cancelQueued(): void {
    if (this.dead || this.cancelling || !this.held.some((job) => !job.started)) return;
    this.cancelling = true;
    this.thread.postMessage({ type: 'cancel' } satisfies ToThread);
  }

  /** Ends the thread, whatever its task is doing; the running job resolves `terminated`. */
  terminate(): Promise<void> {
    if (!this.dead) this.terminating = true;
    return this.thread.terminate().then(() => undefined);
  }

  private receive(message: FromThread): void {
    switch (message.type) {
      case 'log': {
        const job = this.held.find((held) => held.id === message.id);
        if (job) this.listener.log(job.request, message.line);
        return;
      }
      case 'ready':
        this.loaded = true;
        this.markReady();
        this.startFirst();
        return;
      case 'done': {
        const job = this.held.shift();
        if (job?.id !== message.id) throw new Error('internal error: a task thread answered out of order');
        this.listener.time(job.request, message.ms);
        job.resolve(message.error ? { kind: 'threw', error: message.error } : { kind: 'returned' });
        // The thread went straight on to its next job.
        this.startFirst();
        return;
      }
      case 'cancelled': {
        this.cancelling = false;
        const handedBack = new Set(message.ids);
        const back = this.held.filter((job) => handedBack.has(job.id));
        this.held.splice(0, this.held.length, ...this.held.filter((job) => !handedBack.has(job.id)));
        for (const job of back) job.resolve({ kind: 'unstarted' });
        return;
      }
    }
  }

  /** How long the running job has run, in ms; 0 when none runs. */
  runningForMs(): number {
    return this.held[0]?.started ? performance.now() - this.runningSince : 0;
  }

  private startFirst(): void {
    const first = this.held[0];
    if (!first || first.started) return;
    first.started = true;
    this.runningSince = performance.now();
    this.listener.start(first.request);
    this.watchRunning();
  }

  /** Arms the hand-back check while jobs wait behind a running one, unless one is armed already. */
  private watchRunning(): void {
    const limit = this.options.handBackAfterMs;
    if (limit === undefined || this.handBackTimer !== undefined || this.dead) return;
    if (this.held.length < 2 || !this.held[0]?.started) return;
    const check = () => {
      this.handBackTimer = undefined;
      if (this.held.length < 2 || !this.held[0]?.started) return; // nothing waits behind a running job
      const ranMs = this.runningForMs();
      if (ranMs >= limit) this.cancelQueued();
      else this.handBackTimer = setTimeout(check, limit - ranMs).unref();
    };
    this.handBackTimer = setTimeout(check, limit - this.runningForMs()).unref();
  }

  /** The thread ended: the running job gets why; the others never began. */
  private settleAll(code: number): void {
    const jobs = this.held.splice(0);
    jobs.forEach((job, i) => {
      // A thread that died loading the task module fails its first job, as if the task had crashed it.
      const failedStart = i === 0 && !this.loaded && !this.terminating;
      job.resolve(job.started || failedStart ? this.endResult(code) : { kind: 'unstarted' });
    });
  }

  private endResult(code: number): RunResult {
    if (this.terminating) return { kind: 'terminated' };
    return (
      this.failure ?? {
        kind: 'crashed',
        error: { name: 'ThreadExited', message: `the task's thread exited with code ${code}`, permanent: false },
      }
    );
  }
}

/** `size` threads, started at once: they load the task module while the first tasks are leased. */
export class ThreadPool<Job extends JobRequest = JobRequest> {
  private readonly live: Array<TaskThread<Job>> = [];
  private closed = false;

  /** `onReplaced`: a thread ended and a fresh one took its place (it may take jobs). */
  constructor(
    private readonly options: PoolOptions,
    private readonly listener: JobListener<Job>,
    private readonly onReplaced: () => void = () => undefined,
  ) {
    for (let i = 0; i < options.size; i++) this.spawn();
  }

  /** The threads that may take jobs (a replacement may still be loading: its first job waits). */
  get threads(): ReadonlyArray<TaskThread<Job>> {
    return this.live;
  }

  /** Resolves once every thread has loaded the task module (or died trying). */
  async ready(): Promise<void> {
    await Promise.all(this.live.map((thread) => thread.ready));
  }

  /** Dead threads are no longer replaced (shutdown). */
  retire(): void {
    this.closed = true;
  }

  /** Terminates every thread. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.live].map((thread) => thread.terminate()));
  }

  private spawn(): void {
    this.live.push(
      new TaskThread(this.options, this.listener, (ended) => {
        this.live.splice(this.live.indexOf(ended), 1);
        if (this.closed) return;
        this.spawn();
        this.onReplaced();
      }),
    );
  }
}
