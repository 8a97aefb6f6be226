/**
 * The file queue: python-task-queue's `fq://` format on a local or shared file system, so Python
 * inserters, workers and `ptq status` work on our queues and we on theirs. The claim is the atomic
 * rename of a task file's exact old name; journal lines are single O_APPEND writes. Node has no
 * fcntl `lockf`, so we do not take Python's journal locks: see docs/queue.md for what that means.
 */
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { QueueError } from './errors';
import { addInsertions, readCounter, resetCounters } from './fileQueueCounter';
import {
  appendLine,
  appendLineSized,
  assignTaskId,
  errnoCode,
  FileQueueLayout,
  nowSeconds,
  parseTaskFileName,
  reassignTaskId,
  tallyByte,
  taskFileName,
  unlinkIfPresent,
  writeFileAtomic,
} from './fileQueueLayout';
import { LeaseCandidates } from './leaseCandidates';
import type { DeadLetter, FailureRecord, InsertOptions, LeasedTask, LeaseOptions, Queue, QueueCounts } from './types';

/** Tasks written between two updates of `insertions` (and two progress reports). */
const INSERT_CHUNK = 1000;

/** What python-task-queue's tally appends to `completions` per completed task. */
const COMPLETION_BYTE = Buffer.alloc(1);

export class FileQueue implements Queue {
  readonly kind = 'fq' as const;
  readonly url: string;
  readonly layout: FileQueueLayout;
  private readonly candidates: LeaseCandidates;
  /** Lease calls share one directory stream: run them one at a time. */
  private leaseChain: Promise<unknown> = Promise.resolve();
  private knownDirs = new Set<string>();
  /** Set once this instance has made sure the layout exists (insert creates it, like Python). */
  private layoutReady = false;
  /**
   * `completions`, open for appending across deletes: one write per completed task instead of
   * open+write+close. Python's rezero truncates the file in place, so the descriptor stays valid.
   */
  private completionsFd: number | undefined;

  /** `root` must be absolute; use `openQueue('fq://...')`. */
  constructor(readonly root: string) {
    this.url = `fq://${root}`;
    this.layout = new FileQueueLayout(root);
    this.candidates = new LeaseCandidates(this.layout.queueDir);
  }

  /** Creates the directories and `insertions` (= 0) when missing; idempotent. */
  create(): void {
    this.guard('create the queue', () => this.layout.create());
    this.layoutReady = true;
  }

  async insert(bodies: Iterable<string> | AsyncIterable<string>, options: InsertOptions = {}): Promise<number> {
    const delay = Math.ceil(options.delaySeconds ?? 0);
    const timestamp = delay > 0 ? nowSeconds() + delay : 0;
    if (!this.layoutReady) this.create();
    let total = 0;
    let unCounted = 0;
    const flush = async () => {
      if (unCounted === 0) return;
      const stored = unCounted;
      unCounted = 0;
      await this.guardAsync('update insertions', () => addInsertions(this.layout, stored));
      total += stored;
      options.onProgress?.(stored);
    };
    try {
      for await (const body of bodies) {
        this.guard('insert a task', () => this.writeTask(assignTaskId(body), timestamp));
        if (++unCounted >= INSERT_CHUNK) {
          await flush();
          await yieldToEventLoop();
        }
      }
    } finally {
      // tasks already written count even when a later one failed
      await flush();
    }
    return total;
  }

  /** Journal first, then the task file renamed in: a crash leaves at worst an unused journal. */
  private writeTask(task: { id: string; text: string }, timestamp: number): void {
    let { id, text } = task;
    for (;;) {
      try {
        // O_EXCL: an id already queued (the same body inserted twice) gets a fresh id instead
        fs.writeFileSync(this.layout.journalPath(id), `${taskFileName(timestamp, id)}\n`, { flag: 'wx' });
        break;
      } catch (error) {
        if (errnoCode(error) !== 'EEXIST') throw error;
        ({ id, text } = reassignTaskId(text));
      }
    }
    const tmp = this.layout.tmpPath(id);
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, this.layout.taskPath(taskFileName(timestamp, id)));
  }

  lease(options: LeaseOptions): Promise<LeasedTask[]> {
    if (!(options.seconds > 0))
      return Promise.reject(new RangeError(`lease seconds must be > 0, got ${options.seconds}`));
    const run = this.leaseChain.then(() => this.guardAsync('lease tasks', () => this.leaseNow(options)));
    this.leaseChain = run.catch(() => undefined);
    return run;
  }

  private async leaseNow({ count, seconds }: LeaseOptions): Promise<LeasedTask[]> {
    // No existence check per call: a missing queue/ fails the directory scan, mapped to QueueNotFound.
    this.ensureDir(this.layout.movementDir);
    this.ensureDir(this.layout.attemptsDir);
    const leased: LeasedTask[] = [];
    this.candidates.beginCall();
    while (leased.length < count) {
      const now = nowSeconds();
      const name = await this.candidates.next(now);
      if (name === undefined) break;
      const task = this.claim(name, Math.ceil(Date.now() / 1000 + seconds));
      if (task) leased.push(task);
    }
    return leased;
  }

  /** Renames `name` to the leased name; undefined when another worker got there first. */
  private claim(name: string, until: number): LeasedTask | undefined {
    const { id } = parseTaskFileName(name)!;
    const leasedName = taskFileName(until, id);
    if (!this.renameTask(name, leasedName)) return undefined;
    const line = `${leasedName}\n`;
    const journalBefore = appendLineSized(this.layout.journalPath(id), line) - Buffer.byteLength(line);
    // A journal holding a single name (the insert) means no lease before this one: attempt 1, and
    // no tally file to write now or unlink later (most tasks). Later leases tally in attempts/<id>,
    // which counts the leases after the first. Two names take at least twice the shortest name.
    const firstLease = journalBefore < 2 * Buffer.byteLength(`${taskFileName(0, id)}\n`);
    const attempt = firstLease ? 1 : 1 + tallyByte(this.layout.attemptsPath(id));
    let body: string;
    try {
      body = fs.readFileSync(this.layout.taskPath(leasedName), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined; // released by someone else in between
      throw error;
    }
    return { id, body, attempt, handle: leasedName, leaseExpiresAt: until * 1000 };
  }

  /** The atomic claim: false when the exact old name no longer exists. */
  private renameTask(from: string, to: string): boolean {
    try {
      fs.renameSync(this.layout.taskPath(from), this.layout.taskPath(to));
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  async renew(task: LeasedTask, seconds: number): Promise<LeasedTask> {
    const until = Math.ceil(Date.now() / 1000 + seconds);
    const handle = this.guard('renew a lease', () => this.moveLeased(task, until));
    return { ...task, handle, leaseExpiresAt: until * 1000 };
  }

  async release(task: LeasedTask, delaySeconds = 0): Promise<void> {
    this.guard('release a task', () => this.moveLeased(task, nowSeconds() + Math.ceil(delaySeconds)));
  }

  private moveLeased(task: LeasedTask, timestamp: number): string {
    const name = taskFileName(timestamp, task.id);
    if (name === task.handle) return name;
    if (!this.renameTask(task.handle, name)) {
      this.requireQueueDir();
      throw new QueueError(
        'LeaseLost',
        `task ${task.id}: its lease ended (file ${task.handle} is gone from ${this.layout.queueDir})`,
        'another worker may hold it now; lease for longer or renew sooner',
      );
    }
    appendLine(this.layout.journalPath(task.id), `${name}\n`);
    return name;
  }

  async delete(task: LeasedTask): Promise<void> {
    this.guard('delete a task', () => {
      if (this.removeTask(task)) this.tallyCompletion();
    });
  }

  private tallyCompletion(): void {
    this.completionsFd ??= fs.openSync(this.layout.completionsFile, 'a');
    fs.writeSync(this.completionsFd, COMPLETION_BYTE);
  }

  async deadLetter(task: LeasedTask, failure: FailureRecord): Promise<void> {
    this.guard('dead-letter a task', () => {
      this.ensureDir(this.layout.deadDir);
      writeFileAtomic(this.layout, this.layout.deadPath(task.id), JSON.stringify({ body: task.body, failure }));
      this.removeTask(task);
    });
  }

  /**
   * Removes the task file, its journal and attempt tally; true when something was there. When the
   * held name is gone (lease expired, taken over), every name in the journal goes, as Python does.
   */
  private removeTask(task: LeasedTask): boolean {
    const journal = this.layout.journalPath(task.id);
    let removed = unlinkIfPresent(this.layout.taskPath(task.handle));
    if (!removed) {
      let names: string[] = [];
      try {
        names = fs.readFileSync(journal, 'utf8').split('\n');
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
      }
      for (const name of names) {
        if (name !== '' && unlinkIfPresent(this.layout.taskPath(name))) removed = true;
      }
    }
    if (unlinkIfPresent(journal)) removed = true;
    if (task.attempt > 1) unlinkIfPresent(this.layout.attemptsPath(task.id)); // attempt 1 never wrote one
    return removed;
  }

  async *listDeadLetters(): AsyncIterable<DeadLetter> {
    for (const name of this.deadLetterNames()) {
      const entry = this.guard('read a dead letter', () => this.readDeadLetter(name));
      if (entry) yield entry;
    }
  }

  private deadLetterNames(): string[] {
    try {
      return fs.readdirSync(this.layout.deadDir).filter((name) => name.endsWith('.json'));
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw this.mapError(error, 'list dead letters');
      this.requireQueueDir();
      return [];
    }
  }

  private readDeadLetter(name: string): DeadLetter | undefined {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.layout.deadDir, name), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined; // requeued meanwhile
      throw error;
    }
    const id = name.slice(0, -'.json'.length);
    try {
      const parsed = JSON.parse(text) as { body?: unknown; failure?: FailureRecord };
      if (typeof parsed.body === 'string') return { id, body: parsed.body, failure: parsed.failure };
    } catch {
      // not our record: hand it back as the body, so nothing is lost
    }
    return { id, body: text };
  }

  async requeueDeadLetters(ids?: readonly string[]): Promise<number> {
    const wanted = ids ? new Set(ids) : undefined;
    let moved = 0;
    for (const name of this.deadLetterNames()) {
      const id = name.slice(0, -'.json'.length);
      if (wanted && !wanted.has(id)) continue;
      const entry = this.guard('read a dead letter', () => this.readDeadLetter(name));
      if (!entry) continue;
      this.guard('requeue a dead letter', () => {
        unlinkIfPresent(this.layout.attemptsPath(id));
        this.writeTask({ id, text: entry.body }, 0);
        unlinkIfPresent(this.layout.deadPath(id));
      });
      moved++;
      if (moved % INSERT_CHUNK === 0) await yieldToEventLoop();
    }
    return moved;
  }

  async counts(): Promise<QueueCounts> {
    return this.guardAsync('count tasks', async () => {
      const now = nowSeconds();
      let enqueued = 0;
      let leased = 0;
      await this.forEachTaskFile((timestamp) => {
        enqueued++;
        if (timestamp > now) leased++;
      });
      return {
        enqueued,
        leased,
        delayed: 0,
        inserted: readCounter(this.layout.insertionsFile),
        completed: fileSize(this.layout.completionsFile),
        failed: this.deadLetterNames().length,
        approximate: false,
      };
    });
  }

  async isEmpty(): Promise<boolean> {
    return this.guard('look at the queue', () => {
      const dir = this.openQueueDir();
      try {
        for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
          if (parseTaskFileName(entry.name)) return false;
        }
        return true;
      } finally {
        dir.closeSync();
      }
    });
  }

  async releaseAll(): Promise<number> {
    return this.guardAsync('release all tasks', async () => {
      const now = nowSeconds();
      const due: Array<{ name: string; id: string }> = [];
      await this.forEachTaskFile((timestamp, id, name) => {
        if (timestamp > now) due.push({ name, id });
      });
      let released = 0;
      for (const { name, id } of due) {
        const visible = taskFileName(now, id);
        if (!this.renameTask(name, visible)) continue; // deleted or moved meanwhile
        appendLine(this.layout.journalPath(id), `${visible}\n`);
        released++;
      }
      return released;
    });
  }

  async purge(): Promise<void> {
    await this.guardAsync('purge the queue', async () => {
      this.requireQueueDir();
      this.candidates.close();
      for (const dir of [this.layout.queueDir, this.layout.movementDir, this.layout.attemptsDir, this.layout.deadDir]) {
        await removeFilesIn(dir);
      }
      await resetCounters(this.layout);
    });
  }

  async close(): Promise<void> {
    await this.leaseChain;
    this.candidates.close();
    if (this.completionsFd !== undefined) fs.closeSync(this.completionsFd);
    this.completionsFd = undefined;
  }

  private async forEachTaskFile(visit: (timestamp: number, id: string, name: string) => void): Promise<void> {
    const dir = this.openQueueDir();
    try {
      let seen = 0;
      for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
        const parsed = parseTaskFileName(entry.name);
        if (parsed) visit(parsed.timestamp, parsed.id, entry.name);
        if (++seen % 10_000 === 0) await yieldToEventLoop();
      }
    } finally {
      dir.closeSync();
    }
  }

  private openQueueDir(): fs.Dir {
    try {
      return fs.opendirSync(this.layout.queueDir, { bufferSize: 256 });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') throw this.notFound();
      throw error;
    }
  }

  private requireQueueDir(): void {
    if (!fs.existsSync(this.layout.queueDir)) throw this.notFound();
  }

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    fs.mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
  }

  private notFound(): QueueError {
    return new QueueError(
      'QueueNotFound',
      `file queue ${this.root} does not exist (no ${this.layout.queueDir})`,
      `create it with \`npm run queue:create -- --queue ${this.url}\`, or check TASKQUEUE_PATH / --queue`,
    );
  }

  private guard<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw this.mapError(error, action);
    }
  }

  private async guardAsync<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.mapError(error, action);
    }
  }

  private mapError(error: unknown, action: string): Error {
    if (error instanceof QueueError || !(error instanceof Error)) return error as Error;
    const code = errnoCode(error);
    const where = (error as NodeJS.ErrnoException).path ?? this.root;
    if (code === 'ENOENT' && !fs.existsSync(this.layout.queueDir)) return this.notFound();
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
      return new QueueError(
        'PermissionDenied',
        `cannot ${action} in file queue ${this.root}: ${code} on ${where}`,
        'give this user write access to the queue directory (and everything in it)',
        { cause: error },
      );
    }
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      return new QueueError(
        'BackendError',
        `cannot ${action} in file queue ${this.root}: no space left (${code}) on ${where}`,
        'free disk space or inodes, or put the queue on a bigger file system',
        { cause: error },
      );
    }
    if (code)
      return new QueueError(
        'BackendError',
        `cannot ${action} in file queue ${this.root}: ${error.message}`,
        undefined,
        { cause: error },
      );
    return error;
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 0;
    throw error;
  }
}

async function removeFilesIn(dir: string): Promise<void> {
  let handle: fs.Dir;
  try {
    handle = fs.opendirSync(dir, { bufferSize: 256 });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  const names: string[] = [];
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) names.push(entry.name);
  } finally {
    handle.closeSync();
  }
  for (let i = 0; i < names.length; i++) {
    unlinkIfPresent(path.join(dir, names[i]!));
    if (i % 10_000 === 9_999) await yieldToEventLoop();
  }
}
