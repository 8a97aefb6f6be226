/**
 * The file queue's deletes, made on a thread of their own. A worker finishing thousands of short
 * tasks a second spent a quarter of its main thread's time in a delete's unlinks and tally write;
 * on this thread they overlap the main thread's next leases. Deletes that arrive in one event-loop
 * turn go as one message, so a delete costs the main thread a share of two messages, not three
 * system calls. The thread only removes a task's leased file, its journal and its attempt tally and
 * appends the completion byte, in the order and with the effect of the synchronous delete; anything
 * else (the leased name is gone, an error) is answered back for the caller to handle.
 */
import { Worker } from 'node:worker_threads';

/** One delete: the task file under its leased name, its journal, its attempt tally ('' when none). */
export type DeleteRequest = readonly [taskFile: string, journal: string, attempts: string];

/** What failed on the thread, enough to rebuild a Node system error (`errnoError`). */
export interface ThreadErrno {
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
}

/** 'done'; 'gone': the leased name no longer exists (nothing was removed); or the error met. */
export type DeleteAnswer = 'done' | 'gone' | ThreadErrno;

interface Pending {
  readonly request: DeleteRequest;
  readonly resolve: (answer: DeleteAnswer) => void;
  readonly reject: (error: Error) => void;
}

/** The thread's memory limit: it holds one batch of paths at a time. */
const THREAD_HEAP_MB = 32;

/**
 * The thread's whole program, started from its source text: it uses nothing from this module's scope
 * and defines no named functions (a bundler's name helpers would not exist there), so it runs the
 * same from the TypeScript sources and from the worker's bundle, with no file of its own to ship.
 */
function deleteThreadMain(): void {
  /* eslint-disable @typescript-eslint/no-require-imports -- the thread's code is self-contained */
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const fs = require('node:fs') as typeof import('node:fs');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const completionsFile = (workerData as { completionsFile: string }).completionsFile;
  const completionByte = Buffer.alloc(1);
  let completionsFd: number | undefined;
  parentPort!.on('message', (batch: readonly DeleteRequest[]) => {
    const answers = batch.map(([taskFile, journal, attempts]): DeleteAnswer => {
      let stage = 'task';
      try {
        fs.unlinkSync(taskFile);
        stage = 'journal';
        try {
          fs.unlinkSync(journal);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
        stage = 'tally';
        completionsFd ??= fs.openSync(completionsFile, 'a');
        fs.writeSync(completionsFd, completionByte);
        if (attempts !== '') {
          try {
            fs.unlinkSync(attempts);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
          }
        }
        return 'done';
      } catch (error) {
        const e = error as NodeJS.ErrnoException;
        if (stage === 'task' && e.code === 'ENOENT') return 'gone';
        return { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path };
      }
    });
    parentPort!.postMessage(answers);
  });
}

/** A Node system error again, from what the thread sent (`mapFileError` reads its code and path). */
export function errnoError(failure: ThreadErrno): NodeJS.ErrnoException {
  return Object.assign(new Error(failure.message), {
    code: failure.code,
    errno: failure.errno,
    syscall: failure.syscall,
    path: failure.path,
  });
}

/**
 * One delete thread, started on the first delete; it keeps the process alive only while deletes are
 * in flight. A thread that dies fails the deletes it held (the caller's retry sends them again to a
 * new one).
 */
export class FileDeleteThread {
  private thread: Worker | undefined;
  private collecting: Pending[] = [];
  private readonly inFlight: Pending[][] = [];
  private scheduled = false;
  /** `close` waiting for the deletes in flight. */
  private whenIdle: Array<() => void> = [];
  private readonly send = () => this.flush();

  constructor(private readonly completionsFile: string) {}

  delete(request: DeleteRequest): Promise<DeleteAnswer> {
    return new Promise((resolve, reject) => {
      this.collecting.push({ request, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(this.send);
    });
  }

  /** Waits for the deletes in flight, then ends the thread. */
  async close(): Promise<void> {
    while (this.collecting.length > 0 || this.inFlight.length > 0) {
      await new Promise<void>((resolve) => this.whenIdle.push(resolve));
    }
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate();
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.collecting;
    this.collecting = [];
    if (batch.length === 0) return;
    const thread = (this.thread ??= this.start());
    if (this.inFlight.length === 0) thread.ref();
    this.inFlight.push(batch);
    thread.postMessage(batch.map(({ request }) => request));
  }

  private start(): Worker {
    const thread = new Worker(`(${deleteThreadMain.toString()})()`, {
      eval: true,
      workerData: { completionsFile: this.completionsFile },
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
    });
    thread.on('message', (answers: readonly DeleteAnswer[]) => {
      const batch = this.inFlight.shift() ?? [];
      batch.forEach(({ resolve }, i) => resolve(answers[i]!));
      if (this.inFlight.length === 0) thread.unref();
      this.settled();
    });
    let failure: Error | undefined;
    thread.on('error', (error) => (failure = error));
    thread.on('exit', (code) => {
      if (this.thread === thread) this.thread = undefined;
      const error = failure ?? new Error(`the file queue's delete thread stopped (exit code ${code})`);
      for (const { reject } of this.inFlight.splice(0).flat()) reject(error);
      this.settled();
    });
    return thread;
  }

  private settled(): void {
    if (this.inFlight.length > 0 || this.collecting.length > 0) return;
    for (const resolve of this.whenIdle.splice(0)) resolve();
  }
}
