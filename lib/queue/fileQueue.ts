/**
 * The file queue: python-task-queue's `fq://` format on a local or shared file system, so Python
 * inserters, workers and `ptq status` work on our queues and we on theirs. The claim is the atomic
 * rename of a task file's exact old name; journal lines are single O_APPEND writes. Node has no
 * fcntl `lockf`, so we do not take Python's journal locks: see docs/queue.md for what that means.
 * Bodies are opaque here: a message's id names its file, and nothing parses the body.
 */
import fs from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { QueueError } from './errors';
import { ClaimContext, claimTask } from './fileClaim';
import { FileDeadLetters } from './fileDeadLetters';
import { FileQueueThread } from './fileQueueThread';
import { mapFileError, queueNotFound } from './fileErrors';
import { makeDirs, fileSize, removeEntriesIn, unlinkIfPresent } from './fileOps';
import { addInsertions, readCounter, resetCounters } from './fileQueueCounter';
import { FileQueueLayout, nowSeconds, taskFileName } from './fileQueueLayout';
import { COUNT_SCAN_BUDGET, countTaskFiles, forEachTaskFile, hasNoTaskFile, ScanBudget } from './fileQueueScan';
import { moveTask, removeTaskFiles, writeTask } from './fileTaskFiles';
import { LeaseCandidates } from './leaseCandidates';
import { checkTaskId } from './taskId';
import type {
  DeadLetter,
  FailureRecord,
  InsertOptions,
  LeasedTask,
  LeaseOptions,
  Queue,
  QueueCounts,
  QueueMessage,
} from './types';

/** Tasks written between two updates of `insertions` (and two progress reports). */
const INSERT_CHUNK = 1000;

/** What python-task-queue's tally appends to `completions` per completed task. */
const COMPLETION_BYTE = Buffer.alloc(1);

export interface FileQueueOptions {
  /** Lease and delete on the file queue's own thread once it has loaded (default false). */
  readonly ownThread?: boolean;
}

export class FileQueue implements Queue {
  readonly kind = 'fq' as const;
  readonly url: string;
  readonly layout: FileQueueLayout;
  private readonly candidates: LeaseCandidates;
  private readonly dead: FileDeadLetters;
  private readonly claimContext: ClaimContext;
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
  /** Leases and deletes go to the file queue's thread (fileQueueThread.ts); false on that thread. */
  private readonly ownThread: boolean;

  /**
   * `root` must be absolute; use `openQueue('fq://...')`. `countBudget`: how much of `queue/`
   * `counts()` reads before it estimates (tests make it small).
   */
  constructor(
    readonly root: string,
    private readonly countBudget: ScanBudget = COUNT_SCAN_BUDGET,
    options: FileQueueOptions = {},
  ) {
    this.url = `fq://${root}`;
    this.layout = new FileQueueLayout(root);
    this.candidates = new LeaseCandidates(this.layout.queueDir);
    this.dead = new FileDeadLetters(this.layout, (dir) => this.ensureDir(dir));
    this.ownThread = options.ownThread ?? false;
    this.claimContext = { layout: this.layout, dead: this.dead, ensureDir: (dir) => this.ensureDir(dir) };
  }

  /** Creates the directories and `insertions` (= 0) when missing; idempotent. */
  create(): void {
    this.guard('create the queue', () => this.layout.create());
    this.layoutReady = true;
  }

  async insert(
    messages: Iterable<QueueMessage> | AsyncIterable<QueueMessage>,
    options: InsertOptions = {},
  ): Promise<number> {
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
      for await (const { id, body } of messages) {
        checkTaskId(id, total + unCounted + 1, this.url);
        this.guard('insert a task', () => writeTask(this.layout, { id, body }, timestamp, 'wx', total + unCounted + 1));
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

  lease(options: LeaseOptions): Promise<LeasedTask[]> {
    if (!(options.seconds > 0))
      return Promise.reject(new RangeError(`lease seconds must be > 0, got ${options.seconds}`));
    if (this.onThread()) return FileQueueThread.shared().lease(this.root, options);
    const run = this.leaseChain.then(() => this.guardAsync('lease tasks', () => this.leaseNow(options)));
    this.leaseChain = run.catch(() => undefined);
    return run;
  }

  private async leaseNow({ count, seconds }: LeaseOptions): Promise<LeasedTask[]> {
    // Every call lets the event loop turn first: its work is synchronous, and a worker that settles
    // what it leases on its main thread (tasks it cannot run, dead-lettered at once) would otherwise
    // go from lease to lease in promise callbacks alone, starving its timers, /healthz and signals.
    await yieldToEventLoop();
    // No existence check per call: a missing queue/ fails the directory scan, mapped to QueueNotFound.
    this.ensureDir(this.layout.movementDir);
    const leased: LeasedTask[] = [];
    this.candidates.beginCall();
    while (leased.length < count) {
      const now = nowSeconds();
      const name = await this.candidates.next(now);
      if (name === undefined) break;
      const task = claimTask(this.claimContext, name, Math.ceil(Date.now() / 1000 + seconds));
      if (task) leased.push(task);
    }
    return leased;
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
    if (!moveTask(this.layout, task.id, task.handle, name)) {
      this.requireQueueDir();
      throw new QueueError(
        'LeaseLost',
        `task ${task.id}: its lease ended (file ${task.handle} is gone from ${this.layout.queueDir})`,
        'another worker may hold it now; lease for longer or renew sooner',
      );
    }
    return name;
  }

  async delete(task: LeasedTask): Promise<void> {
    if (this.onThread()) return FileQueueThread.shared().delete(this.root, task);
    this.guard('delete a task', () => {
      const removed = removeTaskFiles(this.layout, task.id, task.handle);
      if (unlinkIfPresent(this.layout.journalPath(task.id)) || removed) this.tallyCompletion();
      if (task.attempt > 1) unlinkIfPresent(this.layout.attemptsPath(task.id)); // attempt 1 never wrote one
    });
  }

  /**
   * Whether this call goes to the file queue's thread: once it has loaded (a start does not wait
   * for it: meanwhile the calls run here, as a second worker on the same files would).
   */
  private onThread(): boolean {
    return this.ownThread && FileQueueThread.shared().ready();
  }

  private tallyCompletion(): void {
    this.completionsFd ??= fs.openSync(this.layout.completionsFile, 'a');
    fs.writeSync(this.completionsFd, COMPLETION_BYTE);
  }

  /**
   * Writes the dead letter, then takes the task out of queue/; its journal stays as the tombstone (fileDeadLetters.ts).
   */
  async deadLetter(task: LeasedTask, failure: FailureRecord): Promise<void> {
    this.guard('dead-letter a task', () => {
      this.dead.write(task.id, task.body, failure);
      removeTaskFiles(this.layout, task.id, task.handle);
    });
  }

  async *listDeadLetters(): AsyncIterable<DeadLetter> {
    for (const id of this.deadLetterIds('list dead letters')) {
      const entry = this.guard('read a dead letter', () => this.dead.read(id));
      if (entry) yield entry;
    }
  }

  private deadLetterIds(action: string): string[] {
    return this.guard(action, () => {
      this.requireQueueDir();
      return this.dead.ids();
    });
  }

  async requeueDeadLetters(ids?: readonly string[]): Promise<number> {
    const wanted = ids ? new Set(ids) : undefined;
    let moved = 0;
    for (const id of this.deadLetterIds('list dead letters')) {
      if (wanted && !wanted.has(id)) continue;
      const entry = this.guard('read a dead letter', () => this.dead.read(id));
      if (!entry) continue;
      this.guard('requeue a dead letter', () => {
        unlinkIfPresent(this.layout.attemptsPath(id));
        writeTask(this.layout, { id, body: entry.body }, 0, 'w');
        unlinkIfPresent(this.layout.deadPath(id));
      });
      moved++;
      if (moved % INSERT_CHUNK === 0) await yieldToEventLoop();
    }
    return moved;
  }

  /**
   * Exact while `queue/` is read within the scan budget (fileQueueScan.ts); beyond it (millions of
   * files) an estimate, marked approximate: enqueued from the counters (inserted − completed −
   * failed, at least the files read), leased as the share of leased files among those read (the
   * directory's order has nothing to do with the tasks' state, so the part read is a fair sample).
   */
  async counts(): Promise<QueueCounts> {
    return this.guardAsync('count tasks', async () => {
      const scan = await countTaskFiles(this.layout, nowSeconds(), this.countBudget);
      const inserted = readCounter(this.layout.insertionsFile);
      const completed = fileSize(this.layout.completionsFile);
      const failed = this.dead.ids().length;
      let { files: enqueued, later: leased } = scan;
      if (scan.complete && enqueued === 0) this.sweepOrphanTallies();
      if (!scan.complete) {
        const sampled = enqueued;
        enqueued = Math.max(sampled, inserted - completed - failed);
        leased = sampled === 0 ? 0 : Math.round((leased / sampled) * enqueued);
      }
      return { enqueued, leased, delayed: 0, inserted, completed, failed, approximate: !scan.complete };
    });
  }

  async isEmpty(): Promise<boolean> {
    const empty = this.guard('look at the queue', () => hasNoTaskFile(this.layout));
    if (empty) this.sweepOrphanTallies();
    return empty;
  }

  /**
   * Removes attempts/<id> tallies whose task is gone: python-task-queue, in a mixed fleet, deletes
   * a task and its journal without knowing our tally. A tally is written only after its journal
   * (fileClaim.ts), so no journal means no task. Housekeeping only: errors are ignored.
   */
  private sweepOrphanTallies(): void {
    try {
      for (const id of fs.readdirSync(this.layout.attemptsDir)) {
        if (!fs.existsSync(this.layout.journalPath(id))) unlinkIfPresent(this.layout.attemptsPath(id));
      }
    } catch {
      // No attempts/ folder (no task was ever leased twice), or a read-only queue.
    }
  }

  async releaseAll(): Promise<number> {
    return this.guardAsync('release all tasks', async () => {
      const now = nowSeconds();
      const due: Array<{ name: string; id: string }> = [];
      await forEachTaskFile(this.layout, (timestamp, id, name) => {
        if (timestamp > now) due.push({ name, id });
      });
      let released = 0;
      for (const { name, id } of due) {
        const visible = taskFileName(now, id);
        if (!moveTask(this.layout, id, name, visible)) continue; // deleted or moved meanwhile
        released++;
      }
      return released;
    });
  }

  async purge(): Promise<void> {
    await this.guardAsync('purge the queue', async () => {
      this.requireQueueDir();
      this.candidates.close();
      const { queueDir, movementDir, attemptsDir, deadDir, brokenDir } = this.layout;
      for (const dir of [queueDir, movementDir, attemptsDir, deadDir, brokenDir]) await removeEntriesIn(dir);
      await resetCounters(this.layout);
    });
  }

  async close(): Promise<void> {
    await Promise.all([this.leaseChain, this.ownThread ? FileQueueThread.shared().close(this.root) : undefined]);
    this.candidates.close();
    if (this.completionsFd !== undefined) fs.closeSync(this.completionsFd);
    this.completionsFd = undefined;
  }

  private requireQueueDir(): void {
    const stats = fs.statSync(this.layout.queueDir, { throwIfNoEntry: false });
    if (!stats) throw queueNotFound(this.layout);
  }

  private ensureDir(dir: string): void {
    if (this.knownDirs.has(dir)) return;
    makeDirs(dir);
    this.knownDirs.add(dir);
  }

  private guard<T>(action: string, fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      throw mapFileError(error, action, this.layout);
    }
  }

  private async guardAsync<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw mapFileError(error, action, this.layout);
    }
  }
}
