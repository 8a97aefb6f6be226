/**
 * The file queue's own thread, where its leases and deletes run. One worker on the file queue is
 * bounded by its main thread, and a no-op task's claim and delete are a dozen system calls, half of
 * that thread's time: on a thread of their own they overlap everything else the main thread does.
 * The thread holds an ordinary `FileQueue` per queue root (its own directory stream, descriptors and
 * dead-letter writes) and runs each request there; to the files it is one more worker process, and
 * the format's atomic renames already make any number of those safe. A lease call (of ten tasks, as
 * the worker asks), or the deletes asked for in one event-loop turn, is one message each way. One
 * thread serves every queue of the process; it keeps the process alive only while a request is in
 * flight.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { threadEntry, type ThreadEntry } from '../threadEntry';
import { QueueError, QueueErrorCode } from './errors';
import type { LeasedTask, LeaseOptions } from './types';

export type ThreadRequest =
  | { readonly id: number; readonly root: string; readonly op: 'lease'; readonly options: LeaseOptions }
  | { readonly id: number; readonly root: string; readonly op: 'delete'; readonly tasks: readonly LeasedTask[] }
  | { readonly id: number; readonly root: string; readonly op: 'close' };

/** An error thrown on the thread, as a message can carry it (a QueueError keeps its code and hint). */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: QueueErrorCode;
  readonly hint?: string;
  readonly stack?: string;
}

export type ThreadReply =
  | { readonly ready: true }
  | { readonly id: number; readonly leased: LeasedTask[] }
  /** One entry per task of a delete request: undefined when it was deleted. */
  | { readonly id: number; readonly deleted: ReadonlyArray<ThreadError | undefined> }
  | { readonly id: number; readonly closed: true }
  | { readonly id: number; readonly error: ThreadError };

/** The thread's memory limit: it holds a directory chunk and a few leases' bodies at a time. */
const THREAD_HEAP_MB = 64;

const FIX = '\n  fix: ';

export function toThreadError(error: unknown): ThreadError {
  if (error instanceof QueueError) {
    const base = error.hint ? error.message.slice(0, -(FIX.length + error.hint.length)) : error.message;
    return { name: error.name, message: base, code: error.code, hint: error.hint, stack: error.stack };
  }
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/** The error again, of its class where the queue's callers branch on it (QueueError, RangeError). */
export function fromThreadError(failure: ThreadError): Error {
  let error: Error;
  if (failure.code) error = new QueueError(failure.code, failure.message, failure.hint);
  else if (failure.name === 'RangeError') error = new RangeError(failure.message);
  else error = Object.assign(new Error(failure.message), { name: failure.name });
  if (failure.stack) error.stack = failure.stack;
  return error;
}

/** Permanent: the installation lacks a working thread file, so a worker ends with this and the fix. */
function threadDidNotStart(why: string): QueueError {
  return new QueueError(
    'UnsupportedOperation',
    `the file queue's thread did not start: ${why}`,
    'reinstall (npm ci) or rebuild the worker image: its fq-thread.js (or lib/queue/fileQueueThreadMain.ts) is ' +
      'missing or broken',
  );
}

interface PendingDelete {
  readonly task: LeasedTask;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface Waiting {
  readonly resolve: (reply: ThreadReply) => void;
  readonly reject: (error: Error) => void;
}

export class FileQueueThread {
  private static instance: FileQueueThread | undefined;
  private thread: Worker | undefined;
  private hasLoaded = false;
  private loadFailure: QueueError | undefined;
  /** Deletes asked for in this turn, per queue root. */
  private deletes = new Map<string, PendingDelete[]>();
  private deletesScheduled = false;
  private readonly sendDeletes = () => this.flushDeletes();
  /** `loaded()` callers waiting. */
  private onLoad: Array<() => void> = [];
  private nextId = 0;
  private readonly waiting = new Map<number, Waiting>();

  /** `entry`: what the thread runs (tests give others). */
  constructor(
    private readonly entry: ThreadEntry = threadEntry(
      __filename,
      path.join(__dirname, 'fileQueueThreadMain.ts'),
      'fq-thread.js',
    ),
  ) {}

  /** The process's one file-queue thread (not started until asked to). */
  static shared(): FileQueueThread {
    return (FileQueueThread.instance ??= new FileQueueThread());
  }

  /**
   * True once the thread has loaded and can take requests; starts it when it is not running. Also
   * true once it has failed to load: the calls then fail with that error (a broken install or
   * bundle), rather than quietly running where they were made.
   */
  ready(): boolean {
    if (this.loadFailure) return true;
    this.thread ??= this.start();
    return this.hasLoaded;
  }

  /** Starts the thread if needed and resolves once it has loaded (rejects if it could not). */
  async loaded(): Promise<void> {
    while (!this.ready()) await new Promise<void>((resolve) => this.onLoad.push(resolve));
    if (this.loadFailure) throw this.loadFailure;
  }

  lease(root: string, options: LeaseOptions): Promise<LeasedTask[]> {
    return this.request({ root, op: 'lease', options }).then((reply) => ('leased' in reply ? reply.leased : []));
  }

  /** Deletes asked for in one event-loop turn (per queue root) go in one message. */
  delete(root: string, task: LeasedTask): Promise<void> {
    return new Promise((resolve, reject) => {
      const pending = this.deletes.get(root);
      if (pending) pending.push({ task, resolve, reject });
      else this.deletes.set(root, [{ task, resolve, reject }]);
      if (this.deletesScheduled) return;
      this.deletesScheduled = true;
      setImmediate(this.sendDeletes);
    });
  }

  /** Ends the thread's state for `root` (its directory stream, its descriptors), if it has any. */
  async close(root: string): Promise<void> {
    // Calls go to the thread only once it has loaded: before, it holds nothing of any queue.
    if (!this.thread || !this.hasLoaded) return;
    await this.request({ root, op: 'close' });
  }

  private flushDeletes(): void {
    this.deletesScheduled = false;
    const all = this.deletes;
    this.deletes = new Map();
    for (const [root, pending] of all) {
      this.request({ root, op: 'delete', tasks: pending.map(({ task }) => task) }).then(
        (reply) => {
          const answers = 'deleted' in reply ? reply.deleted : [];
          pending.forEach(({ resolve, reject }, i) => {
            const failure = answers[i];
            if (failure) reject(fromThreadError(failure));
            else resolve();
          });
        },
        (error: Error) => pending.forEach(({ reject }) => reject(error)),
      );
    }
  }

  private request(body: DistributiveOmit<ThreadRequest, 'id'>): Promise<ThreadReply> {
    if (this.loadFailure) return Promise.reject(this.loadFailure);
    const thread = (this.thread ??= this.start());
    const id = this.nextId++;
    if (this.waiting.size === 0) thread.ref();
    return new Promise<ThreadReply>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      thread.postMessage({ ...body, id });
    });
  }

  private start(): Worker {
    const thread = new Worker(this.entry.script, {
      eval: this.entry.eval,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    thread.on('message', (reply: ThreadReply) => {
      if ('ready' in reply) {
        this.hasLoaded = true;
        for (const resolve of this.onLoad.splice(0)) resolve();
        return;
      }
      const waiting = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) thread.unref();
      if (!waiting) return;
      if ('error' in reply) waiting.reject(fromThreadError(reply.error));
      else waiting.resolve(reply);
    });
    let failure: Error | undefined;
    thread.on('error', (error) => (failure = error));
    // After the listeners: adding one refs the thread again.
    thread.unref();
    thread.on('exit', (code) => {
      const why = failure ? failure.message : `exit code ${code}`;
      // Transient: the calls in flight are retried, and the next one starts a new thread.
      let error = new QueueError('BackendError', `the file queue's thread stopped (${why})`);
      if (this.thread === thread) {
        this.thread = undefined;
        // Ended before it had loaded: it would again (a crash later starts a new one).
        if (!this.hasLoaded) error = this.loadFailure = threadDidNotStart(why);
        this.hasLoaded = false;
        for (const resolve of this.onLoad.splice(0)) resolve();
      }
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const { reject } of waiting) reject(error);
    });
    return thread;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
