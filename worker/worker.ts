/**
 * The worker loop: lease tasks, run them (up to `concurrency` at once) while a heartbeat keeps
 * their leases, then delete, retry, dead-letter or release each one. Embeddable: the CLI
 * (`worker/main.ts`), the local runner and the tests all drive this class; it never exits the
 * process and never installs signal handlers.
 *
 * What happens to a task (also in docs/worker.md):
 *   succeeded                               → deleted
 *   threw, attempt < maxAttempts            → released with a capped exponential delay (retried)
 *   threw, attempt ≥ maxAttempts            → dead-lettered with its error
 *   malformed / unknown key / bad params    → dead-lettered at once, never run
 *   leased more than maxAttempts times      → dead-lettered at once (its workers kept dying)
 *   lease lost (renewal refused)            → signal aborted, left alone: another worker has it
 *   worker stopping, grace period over      → signal aborted, released with no delay
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { QueueError, TaskMessageError } from '../lib/queue/errors';
import { formatTaskKey } from '../lib/queue/message';
import type { FailureRecord, LeasedTask, Queue } from '../lib/queue/types';
import type { Storage } from '../lib/storage/types';
import type { TaskContext } from '../lib/task';
import { Backoff, BackoffPolicy, retryDelaySeconds, SECOND } from './backoff';
import { Heartbeat } from './lease';
import type { Logger } from './logger';
import { ParsedTask, TaskRegistry } from './registry';

/** SQS hands out at most 10 messages per receive; more per call would only over-prefetch anyway. */
const MAX_LEASE_BATCH = 10;

export interface WorkerOptions {
  readonly queue: Queue;
  readonly registry: TaskRegistry;
  /** Opens output storage for a cloudpath; called once per distinct cloudpath. */
  readonly openStorage: (cloudpath: string) => Storage;
  /** Storage for tasks whose message has no `cloudpath` argument (CF_CLOUDPATH). */
  readonly defaultCloudpath: string;
  readonly log: Logger;
  /** TQ_LEASE_SECONDS: lease length; renewed every third of it while a task runs. */
  readonly leaseSeconds: number;
  /** TQ_MAX_ATTEMPTS: a task failing this many times is dead-lettered. */
  readonly maxAttempts: number;
  /** WORKER_CONCURRENCY: tasks run at once. @defaultValue 1 */
  readonly concurrency?: number;
  /** WORKER_GRACE_SECONDS: time running tasks get after `stop()` before they are aborted and released. @defaultValue 20 */
  readonly graceSeconds?: number;
  /** Stop (and resolve `start()`) once the queue holds nothing visible, leased or delayed. @defaultValue false */
  readonly exitWhenEmpty?: boolean;
  /** Cap on a failed task's retry delay, in seconds (5 s, 10 s, 20 s, ... up to this). @defaultValue 300 */
  readonly maxRetryDelaySeconds?: number;
  /** Waits while the queue is empty. @defaultValue 0.1 s doubling up to 10 s */
  readonly idleBackoff?: BackoffPolicy;
  /** Waits while the queue is unreachable. @defaultValue 1 s doubling up to 30 s */
  readonly errorBackoff?: BackoffPolicy;
  /** Long-poll wait per lease call (SQS only). @defaultValue 20, or 1 with `exitWhenEmpty` */
  readonly pollWaitSeconds?: number;
  /** Identity in failure records and logs. @defaultValue `hostname:pid` */
  readonly workerId?: string;
}

export type TaskOutcome = 'succeeded' | 'retried' | 'dead-lettered' | 'released' | 'lease-lost';

export interface TaskStartedEvent {
  readonly taskId: string;
  /** `module.name` */
  readonly task: string;
  readonly attempt: number;
}

export interface TaskEndedEvent {
  readonly taskId: string;
  /** `module.name`, when the message named a task. */
  readonly task?: string;
  readonly attempt: number;
  readonly outcome: TaskOutcome;
  /** From the start of the run to the outcome; 0 for messages that never ran. */
  readonly durationMs: number;
  /** The task function threw (the outcome is then `retried` or `dead-lettered`). */
  readonly threw: boolean;
  /** Dead-letter reason (`MalformedTask`, `UnknownTask`, `InvalidParams`, `TooManyAttempts`, or the error's name). */
  readonly reason?: string;
  readonly error?: unknown;
  /** For `retried`: seconds until the task is visible again. */
  readonly retryDelaySeconds?: number;
}

export interface WorkerSummary {
  readonly succeeded: number;
  /** Runs that threw (each retry counts). */
  readonly failed: number;
  readonly retried: number;
  readonly deadLettered: number;
  /** Released unfinished at shutdown. */
  readonly released: number;
  readonly leaseLost: number;
  readonly durationSeconds: number;
  /**
   * CPU time (user + system) this process spent while the worker ran: divided by
   * `durationSeconds`, how busy the worker kept its core (near 1: CPU-bound, raise pods, not concurrency).
   */
  readonly cpuSeconds: number;
}

export interface WorkerEvents {
  taskStarted: [TaskStartedEvent];
  taskEnded: [TaskEndedEvent];
  /** `immediate`: a second stop (signal) that skips the rest of the grace period. */
  stopping: [{ readonly immediate: boolean }];
  stopped: [WorkerSummary];
}

export type WorkerState = 'new' | 'running' | 'stopping' | 'stopped';

/** The abort reason a task sees when the worker stops. */
export class WorkerStoppingError extends Error {
  override readonly name = 'WorkerStoppingError';
}

/** The abort reason a task sees when its lease was taken away. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/** One leased task from lease to outcome. */
interface Slot {
  readonly leased: LeasedTask;
  /** The message as a runnable task, or why it cannot run. */
  readonly parsed: { readonly task: ParsedTask; readonly storage: Storage } | { readonly error: unknown };
  /** `module.name`, when the message named a task. */
  readonly name?: string;
  /** Carries the task id, name and attempt on every line. */
  readonly log: Logger;
  readonly heartbeat: Heartbeat;
  readonly abort: LazyAbort;
  /** Set by whichever path decides the outcome first: the task's own end, a lost lease, or shutdown. */
  claimed: boolean;
  startedAt?: number;
  readonly finished: Promise<void>;
  finish(): void;
}

type Counters = { -readonly [K in keyof Omit<WorkerSummary, 'durationSeconds' | 'cpuSeconds'>]: number };

export class Worker extends EventEmitter<WorkerEvents> {
  private readonly queue: Queue;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly graceSeconds: number;
  private readonly pollWaitSeconds: number;
  private readonly workerId: string;
  private readonly idle: Backoff;
  private readonly unreachable: Backoff;
  private readonly storages = new Map<string, Storage>();
  private readonly slots = new Set<Slot>();
  private readonly counters: Counters = {
    succeeded: 0,
    failed: 0,
    retried: 0,
    deadLettered: 0,
    released: 0,
    leaseLost: 0,
  };
  /** Aborted by `stop()`: ends the lease loop, a long poll and idle waits at once. */
  private readonly loopAbort = new AbortController();
  /** Wakes the loop when a slot frees up or the worker stops. */
  private readonly wakeOnSlot = new Wakeup();
  /** Wakes the loop when the worker stops. */
  private readonly wakeOnStop = new Wakeup();
  private graceTimer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private stoppedAt = 0;
  private startedCpu: NodeJS.CpuUsage | undefined;
  private stoppedCpu: NodeJS.CpuUsage | undefined;
  private fatal: unknown;
  private stateValue: WorkerState = 'new';
  private stoppedPromise: Promise<WorkerSummary> | undefined;

  constructor(private readonly options: WorkerOptions) {
    super();
    this.queue = options.queue;
    this.log = options.log;
    this.concurrency = Math.max(1, options.concurrency ?? 1);
    this.graceSeconds = Math.max(0, options.graceSeconds ?? 20);
    const defaultWait = options.exitWhenEmpty ? 1 : 20;
    this.pollWaitSeconds = this.queue.kind === 'sqs' ? (options.pollWaitSeconds ?? defaultWait) : 0;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}`;
    this.idle = new Backoff(options.idleBackoff ?? { baseMs: 100, capMs: 10 * SECOND });
    this.unreachable = new Backoff(options.errorBackoff ?? { baseMs: SECOND, capMs: 30 * SECOND });
  }

  get state(): WorkerState {
    return this.stateValue;
  }

  /** Tasks leased by this worker right now. */
  get inFlight(): number {
    return this.slots.size;
  }

  summary(): WorkerSummary {
    const end = this.stoppedAt || Date.now();
    const cpu = this.stoppedCpu ?? (this.startedCpu ? process.cpuUsage(this.startedCpu) : undefined);
    return {
      ...this.counters,
      durationSeconds: this.startedAt ? (end - this.startedAt) / SECOND : 0,
      cpuSeconds: cpu ? Math.round((cpu.user + cpu.system) / 1000) / 1000 : 0,
    };
  }

  /**
   * Runs until `stop()` (or, with `exitWhenEmpty`, until the queue is empty), then resolves with the
   * summary once every leased task is finished or released. Rejects only when the queue refuses the
   * worker for good (e.g. the queue was deleted or permission revoked), after releasing its tasks.
   */
  start(): Promise<WorkerSummary> {
    if (this.stoppedPromise) return this.stoppedPromise;
    if (this.stateValue === 'stopped') return Promise.resolve(this.summary()); // stop() came first
    this.stateValue = 'running';
    this.startedAt = Date.now();
    this.startedCpu = process.cpuUsage();
    this.stoppedPromise = this.run();
    return this.stoppedPromise;
  }

  /**
   * First call: lease nothing more; running tasks get the grace period, then are aborted and
   * released. A second call releases them at once. Resolves when the worker has stopped.
   */
  async stop(): Promise<void> {
    if (this.stateValue === 'new' || this.stateValue === 'stopped') {
      this.stateValue = 'stopped';
      return;
    }
    if (this.stateValue === 'running') {
      this.beginStopping();
      this.emit('stopping', { immediate: false });
      this.log.info(
        { running: this.slots.size, graceSeconds: this.graceSeconds },
        `stopping: leasing no more tasks; ${this.slots.size} running task(s) get ${this.graceSeconds} s to finish`,
      );
      this.graceTimer = setTimeout(() => this.releaseRunning('the grace period is over'), this.graceSeconds * SECOND);
    } else {
      this.emit('stopping', { immediate: true });
      this.log.warn({ running: this.slots.size }, 'stopping now: releasing running tasks');
      this.releaseRunning('asked to stop again');
    }
    await this.stoppedPromise?.catch(() => undefined);
  }

  private async run(): Promise<WorkerSummary> {
    this.log.info(
      {
        queue: this.queue.url,
        tasks: this.options.registry.keys,
        concurrency: this.concurrency,
        leaseSeconds: this.options.leaseSeconds,
        maxAttempts: this.options.maxAttempts,
        worker: this.workerId,
      },
      'worker started',
    );
    try {
      await this.leaseLoop();
    } catch (error) {
      this.fatal = error;
      this.log.error({ err: error }, 'the queue refused the worker; releasing running tasks and stopping');
      this.beginStopping();
      this.releaseRunning('the queue refused the worker');
    }
    // Ended on its own (exitWhenEmpty) or by stop(): wait for every leased task to be settled.
    this.beginStopping();
    while (this.slots.size > 0) await Promise.all([...this.slots].map((slot) => slot.finished));
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.stateValue = 'stopped';
    this.stoppedAt = Date.now();
    this.stoppedCpu = this.startedCpu && process.cpuUsage(this.startedCpu);
    const summary = this.summary();
    this.log.info(summary, 'worker stopped');
    this.emit('stopped', summary);
    if (this.fatal !== undefined) throw this.fatal;
    return summary;
  }

  private beginStopping(): void {
    if (this.stateValue === 'running') this.stateValue = 'stopping';
    if (this.loopAbort.signal.aborted) return;
    this.loopAbort.abort();
    this.wakeOnSlot.notify();
    this.wakeOnStop.notify();
  }

  private get stopping(): boolean {
    return this.loopAbort.signal.aborted;
  }

  private async leaseLoop(): Promise<void> {
    while (!this.stopping) {
      const free = this.concurrency - this.slots.size;
      if (free <= 0) {
        await this.waitForSlot();
        continue;
      }
      let leased: LeasedTask[];
      try {
        leased = await this.queue.lease({
          count: Math.min(free, MAX_LEASE_BATCH),
          seconds: this.options.leaseSeconds,
          waitSeconds: this.pollWaitSeconds,
          signal: this.loopAbort.signal,
        });
        this.unreachable.reset();
      } catch (error) {
        if (this.stopping) break;
        await this.onQueueError(error, 'leasing tasks');
        continue;
      }
      if (this.stopping) {
        // Leased while stop() came: hand them straight back.
        await Promise.all(leased.map((task) => this.releaseUnstarted(task)));
        break;
      }
      if (leased.length > 0) {
        this.idle.reset();
        for (const task of leased) this.launch(task);
        continue;
      }
      if (this.options.exitWhenEmpty && this.slots.size === 0) {
        let empty: boolean;
        try {
          empty = await this.queue.isEmpty();
        } catch (error) {
          await this.onQueueError(error, 'checking whether the queue is empty');
          continue;
        }
        if (empty) {
          this.log.info('queue is empty: exiting (--exit-when-empty)');
          return;
        }
      }
      // A long poll already waited; otherwise back off, waking early when one of ours finishes.
      if (this.pollWaitSeconds === 0) await this.sleep(this.idle.next(), true);
    }
  }

  /** Transient errors back off and retry; anything the queue says is permanent ends the worker. */
  private async onQueueError(error: unknown, doing: string): Promise<void> {
    if (error instanceof QueueError && !error.transient) throw error;
    const waitMs = this.unreachable.next();
    this.log[error instanceof QueueError ? 'warn' : 'error'](
      { err: error, retryInMs: Math.round(waitMs), failures: this.unreachable.steps },
      `queue error while ${doing}; retrying in ${(waitMs / SECOND).toFixed(1)} s`,
    );
    await this.sleep(waitMs, false);
  }

  private sleep(ms: number, wakeOnSlot: boolean): Promise<void> {
    return (wakeOnSlot ? this.wakeOnSlot : this.wakeOnStop).wait(ms);
  }

  private waitForSlot(): Promise<void> {
    return this.stopping ? Promise.resolve() : this.wakeOnSlot.wait();
  }

  private launch(task: LeasedTask): void {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const parsed = this.parse(task);
    const name = 'task' in parsed ? formatTaskKey(parsed.task.envelope.key) : undefined;
    const log = this.log.child(
      name ? { taskId: task.id, task: name, attempt: task.attempt } : { taskId: task.id, attempt: task.attempt },
    );
    const slot: Slot = {
      leased: task,
      parsed,
      name,
      log,
      abort: new LazyAbort(),
      claimed: false,
      finished,
      finish: () => {
        this.slots.delete(slot);
        finish();
        this.wakeOnSlot.notify();
      },
      heartbeat: new Heartbeat({
        queue: this.queue,
        task,
        leaseSeconds: this.options.leaseSeconds,
        log,
        onLost: (error) => this.onLeaseLost(slot, error),
      }),
    };
    this.slots.add(slot);
    slot.heartbeat.start();
    void this.handle(slot).catch((error: unknown) => {
      // handle() catches everything it expects; reaching here is a bug worth a loud line, not a crash.
      log.error({ err: error }, 'internal error while handling a task; its lease will expire');
      void slot.heartbeat.stop();
      slot.finish();
    });
  }

  private parse(task: LeasedTask): Slot['parsed'] {
    try {
      const parsed = this.options.registry.parse(task.body);
      return { task: parsed, storage: this.storageFor(parsed.cloudpath ?? this.options.defaultCloudpath) };
    } catch (error) {
      return { error };
    }
  }

  private async handle(slot: Slot): Promise<void> {
    const { leased: task, log } = slot;
    if ('error' in slot.parsed) {
      // Only TaskMessageError is expected; a schema whose own refinement throws is bad params too.
      const { error } = slot.parsed;
      const reason = error instanceof TaskMessageError ? error.reason : 'InvalidParams';
      return this.conclude(slot, { kind: 'dead-letter', reason, error, threw: false });
    }
    if (task.attempt > this.options.maxAttempts) {
      const error = new Error(
        `leased ${task.attempt} times (TQ_MAX_ATTEMPTS=${this.options.maxAttempts}) without finishing: the workers running it were killed (out of memory?) or lost its lease`,
      );
      return this.conclude(slot, { kind: 'dead-letter', reason: 'TooManyAttempts', error, threw: false });
    }

    const { task: parsed, storage } = slot.parsed;
    const { abort } = slot;
    const context: TaskContext = {
      taskId: task.id,
      attempt: task.attempt,
      storage,
      log,
      get signal() {
        return abort.signal;
      },
    };
    slot.startedAt = Date.now();
    log.info('task started');
    this.emit('taskStarted', { taskId: task.id, task: slot.name!, attempt: task.attempt });
    try {
      await parsed.definition.run(parsed.params, context);
    } catch (error) {
      if (slot.claimed) return this.afterRelease(slot);
      if (task.attempt < this.options.maxAttempts) {
        const delaySeconds = retryDelaySeconds(task.attempt, this.options.maxRetryDelaySeconds);
        return this.conclude(slot, { kind: 'retry', error, delaySeconds });
      }
      return this.conclude(slot, { kind: 'dead-letter', reason: errorName(error), error, threw: true });
    }
    if (slot.claimed) return this.afterRelease(slot);
    return this.conclude(slot, { kind: 'success' });
  }

  /** The task settled after shutdown or a lost lease already decided its fate. */
  private afterRelease(slot: Slot): void {
    slot.log.debug(
      { durationMs: Date.now() - (slot.startedAt ?? Date.now()) },
      'task returned after its lease was given up; result ignored',
    );
  }

  private storageFor(cloudpath: string): Storage {
    let storage = this.storages.get(cloudpath);
    if (!storage) {
      try {
        storage = this.options.openStorage(cloudpath);
      } catch (error) {
        throw new TaskMessageError(
          'InvalidParams',
          `cannot open the task's cloudpath ${JSON.stringify(cloudpath)}: ${(error as Error).message}`,
        );
      }
      this.storages.set(cloudpath, storage);
    }
    return storage;
  }

  /** Applies an outcome: stops the heartbeat, then deletes, releases or dead-letters with the latest handle. */
  private async conclude(slot: Slot, outcome: Outcome): Promise<void> {
    if (slot.claimed) return;
    slot.claimed = true;
    const latest = await slot.heartbeat.stop();
    const durationMs = slot.startedAt ? Date.now() - slot.startedAt : 0;
    const { taskId, task, attempt } = this.describe(slot);
    const { log } = slot;
    const ended = (extra: Omit<TaskEndedEvent, 'taskId' | 'task' | 'attempt' | 'durationMs'>) =>
      this.emit('taskEnded', { taskId, task, attempt, durationMs, ...extra });
    try {
      switch (outcome.kind) {
        case 'success':
          await this.settle('delete', log, () => this.queue.delete(latest));
          this.counters.succeeded++;
          log.info({ durationMs }, 'task succeeded');
          ended({ outcome: 'succeeded', threw: false });
          break;
        case 'retry':
          this.counters.failed++;
          await this.settle('release for retry', log, () => this.queue.release(latest, outcome.delaySeconds));
          this.counters.retried++;
          log.warn(
            {
              durationMs,
              err: outcome.error,
              maxAttempts: this.options.maxAttempts,
              retryDelaySeconds: outcome.delaySeconds,
            },
            `task failed (attempt ${attempt} of ${this.options.maxAttempts}); retrying in ${outcome.delaySeconds} s`,
          );
          ended({ outcome: 'retried', threw: true, error: outcome.error, retryDelaySeconds: outcome.delaySeconds });
          break;
        case 'dead-letter': {
          if (outcome.threw) this.counters.failed++;
          const failure = this.failureRecord(latest, outcome.reason, outcome.error, outcome.threw);
          await this.settle('dead-letter', log, () => this.queue.deadLetter(latest, failure));
          this.counters.deadLettered++;
          if (outcome.threw) {
            log.error(
              { durationMs, reason: outcome.reason, err: outcome.error },
              `task failed on its last attempt (${attempt} of ${this.options.maxAttempts}); dead-lettered`,
            );
          } else {
            // The message is the whole story here; a stack would only show the worker's own frames.
            log.error(
              { reason: outcome.reason, error: failure.message },
              `task dead-lettered without running (${outcome.reason})`,
            );
          }
          ended({ outcome: 'dead-lettered', threw: outcome.threw, reason: outcome.reason, error: outcome.error });
          break;
        }
      }
    } catch (error) {
      this.logSettleFailure(error, log);
    } finally {
      slot.finish();
    }
  }

  /** Runs a completion call, retrying transient queue errors a few times (the lease still holds meanwhile). */
  private async settle(what: string, log: Logger, call: () => Promise<void>): Promise<void> {
    const backoff = new Backoff({ baseMs: 200, capMs: 5 * SECOND });
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const retryable = !(error instanceof QueueError) || error.transient;
        if (!retryable || attempt >= 5) throw error;
        const waitMs = backoff.next();
        log.warn({ err: error, retryInMs: Math.round(waitMs) }, `queue error on ${what}; retrying`);
        await delay(waitMs);
      }
    }
  }

  private logSettleFailure(error: unknown, log: Logger): void {
    if (error instanceof QueueError && error.code === 'LeaseLost') {
      this.counters.leaseLost++;
      log.error({ err: error }, 'the lease ran out before the task was settled: another worker may run it again');
    } else {
      log.error(
        { err: error },
        'could not settle the task with the queue: it becomes visible again when its lease expires',
      );
    }
  }

  private onLeaseLost(slot: Slot, error: QueueError): void {
    if (slot.claimed) return;
    slot.claimed = true;
    this.counters.leaseLost++;
    const { taskId, task, attempt } = this.describe(slot);
    slot.abort.abort(new LeaseLostError(`the lease on task ${taskId} was lost: ${error.message}`));
    slot.log.error(
      { err: error },
      'lease lost while the task ran (renewal refused): aborted it and left it to the worker that holds it now',
    );
    this.emit('taskEnded', {
      taskId,
      task,
      attempt,
      outcome: 'lease-lost',
      durationMs: slot.startedAt ? Date.now() - slot.startedAt : 0,
      threw: false,
    });
    slot.finish();
  }

  /** Shutdown: abort every running task and release its lease now, whether or not it stops. */
  private releaseRunning(why: string): void {
    for (const slot of this.slots) {
      if (slot.claimed) continue;
      slot.claimed = true;
      slot.abort.abort(new WorkerStoppingError(`the worker is stopping (${why})`));
      void this.releaseStarted(slot, why);
    }
  }

  private async releaseStarted(slot: Slot, why: string): Promise<void> {
    const { taskId, task, attempt } = this.describe(slot);
    const { log } = slot;
    try {
      const latest = await slot.heartbeat.stop();
      await this.settle('release at shutdown', log, () => this.queue.release(latest, 0));
      this.counters.released++;
      log.warn(
        { durationMs: slot.startedAt ? Date.now() - slot.startedAt : 0 },
        `task aborted and released for another worker: ${why}`,
      );
      this.emit('taskEnded', {
        taskId,
        task,
        attempt,
        outcome: 'released',
        durationMs: slot.startedAt ? Date.now() - slot.startedAt : 0,
        threw: false,
      });
    } catch (error) {
      this.logSettleFailure(error, log);
    } finally {
      slot.finish();
    }
  }

  private async releaseUnstarted(task: LeasedTask): Promise<void> {
    const log = this.log.child({ taskId: task.id, attempt: task.attempt });
    try {
      await this.settle('release at shutdown', log, () => this.queue.release(task, 0));
      this.counters.released++;
      this.emit('taskEnded', {
        taskId: task.id,
        attempt: task.attempt,
        outcome: 'released',
        durationMs: 0,
        threw: false,
      });
    } catch (error) {
      this.logSettleFailure(error, log);
    }
  }

  private describe(slot: Slot): { taskId: string; task?: string; attempt: number } {
    return { taskId: slot.leased.id, task: slot.name, attempt: slot.leased.attempt };
  }

  private failureRecord(task: LeasedTask, reason: string, error: unknown, withStack: boolean): FailureRecord {
    return {
      taskId: task.id,
      body: task.body,
      reason,
      message: error instanceof Error ? error.message : String(error),
      stack: withStack && error instanceof Error ? error.stack : undefined,
      attempts: task.attempt,
      worker: this.workerId,
      failedAt: new Date().toISOString(),
    };
  }
}

/**
 * An AbortController made only when the task reads `context.signal`: creating one costs about as
 * much as a file-queue rename, and most tasks never look at it.
 */
class LazyAbort {
  private controller: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/**
 * Lets the loop wait for "a slot freed" or "stopping" without an AbortController per event (each
 * abort builds a DOMException with a stack: measurable at thousands of tasks per second).
 */
class Wakeup {
  private readonly waiters = new Set<() => void>();

  /** Resolves at the next `notify()`, or after `timeoutMs` when given. */
  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }

  notify(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const done of waiting) done();
  }
}

type Outcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'retry'; readonly error: unknown; readonly delaySeconds: number }
  | { readonly kind: 'dead-letter'; readonly reason: string; readonly error: unknown; readonly threw: boolean };

/** The error's class name for a failure record, e.g. `TypeError`; `TaskError` for non-Error throws. */
function errorName(error: unknown): string {
  return error instanceof Error && error.name ? error.name : 'TaskError';
}
