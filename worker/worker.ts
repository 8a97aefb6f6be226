/**
 * The worker's coordinator, on the main thread: lease tasks, hand each to a task thread (one per
 * concurrency slot, worker/pool.ts) while its lease heartbeat runs here, then apply what the
 * outcome policy (worker/outcome.ts) decides: delete, retry, dead-letter, release or leave alone.
 * Task code never runs on this thread, so leases, /healthz, signals and the grace timer keep
 * their promises whatever the task does. Embeddable: the CLI (`worker/main.ts`), the local runner
 * and the tests drive this class; it never exits the process and never installs signal handlers.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { Level } from 'pino';
import { QueueError, TaskMessageError } from '../lib/queue/errors';
import { formatTaskKey } from '../lib/queue/message';
import type { FailureRecord, LeasedTask, Queue } from '../lib/queue/types';
import { parseCloudpath } from '../lib/storage';
import { Backoff, retryDelaySeconds, SECOND } from './backoff';
import { ABORT_REASONS, GiveUpReason, TaskEndedEvent, WorkerEvents, WorkerState, WorkerSummary } from './events';
import { Heartbeat } from './lease';
import type { Logger } from './logger';
import { assertWorkerOptions, ResolvedWorkerOptions, WorkerOptions } from './options';
import { Decision, decide, Happening, PolicyConfig } from './outcome';
import { RunResult, TaskThread, ThreadPool } from './pool';
import { Wakeup } from './wakeup';

export type { WorkerOptions } from './options';
export * from './events';

/** SQS hands out at most 10 messages per receive; more per call would only over-prefetch anyway. */
const MAX_LEASE_BATCH = 10;
/** At shutdown, once threads are terminated, how long releases may take before they are abandoned. */
const SHUTDOWN_SETTLE_MS = 600;

/** One leased task from lease to outcome. */
interface Slot {
  readonly leased: LeasedTask;
  /** `module.name`, when the message named a task. */
  readonly name?: string;
  /** Carries the task id, name and attempt on every line. */
  readonly log: Logger;
  readonly heartbeat: Heartbeat;
  thread?: TaskThread;
  /** Why the worker aborted the task, if it did (the first reason wins). */
  givenUp?: GiveUpReason;
  timers: NodeJS.Timeout[];
  /** Set once an outcome is being applied. */
  concluded: boolean;
  startedAt?: number;
  readonly finished: Promise<void>;
  finish(): void;
}

/** Something the worker can describe in a failure record and a log line. */
interface Failure {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

type Counters = { -readonly [K in keyof Omit<WorkerSummary, 'durationSeconds' | 'cpuSeconds'>]: number };

export class Worker extends EventEmitter<WorkerEvents> {
  private readonly o: ResolvedWorkerOptions;
  private readonly queue: Queue;
  private readonly log: Logger;
  private readonly policy: PolicyConfig;
  private readonly idle: Backoff;
  private readonly unreachable: Backoff;
  private readonly validCloudpaths = new Set<string>();
  private readonly slots = new Set<Slot>();
  private readonly counters: Counters = {
    succeeded: 0,
    failed: 0,
    retried: 0,
    deadLettered: 0,
    released: 0,
    leaseLost: 0,
    completedAfterLeaseLost: 0,
  };
  private pool: ThreadPool | undefined;
  /** Aborted by `stop()`: ends the lease loop, a long poll and idle waits at once. */
  private readonly loopAbort = new AbortController();
  /** Wakes the loop when a slot frees up or the worker stops. */
  private readonly wakeOnSlot = new Wakeup();
  /** Wakes the loop when the worker stops. */
  private readonly wakeOnStop = new Wakeup();
  private graceTimer: NodeJS.Timeout | undefined;
  /** Set once running tasks were aborted at shutdown: whatever is unsettled by then is abandoned. */
  private deadline: Promise<void> | undefined;
  private startedAt = 0;
  private stoppedAt = 0;
  private startedCpu: NodeJS.CpuUsage | undefined;
  private stoppedCpu: NodeJS.CpuUsage | undefined;
  private fatal: unknown;
  private stateValue: WorkerState = 'new';
  private stoppedPromise: Promise<WorkerSummary> | undefined;

  /** Throws a `WorkerOptionsError` naming every bad option. */
  constructor(options: WorkerOptions) {
    super();
    this.o = assertWorkerOptions(options);
    this.queue = this.o.queue;
    this.log = this.o.log;
    this.policy = {
      maxAttempts: this.o.maxAttempts,
      retryDelaySeconds: (attempt) => retryDelaySeconds(attempt, this.o.maxRetryDelaySeconds),
    };
    this.idle = new Backoff(this.o.idleBackoff);
    this.unreachable = new Backoff(this.o.errorBackoff);
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
   * Starts the task threads, then runs until `stop()` (or, with `exitWhenEmpty`, until the queue is
   * empty); resolves with the summary once every leased task is settled or abandoned. Rejects only
   * when the queue refuses the worker for good (deleted, permission revoked), after releasing its tasks.
   */
  start(): Promise<WorkerSummary> {
    if (this.stoppedPromise) return this.stoppedPromise;
    if (this.stateValue === 'stopped') return Promise.resolve(this.summary()); // stop() came first
    this.stateValue = 'running';
    this.stoppedPromise = this.run();
    return this.stoppedPromise;
  }

  /**
   * First call: lease nothing more; running tasks get the grace period, then their signal aborts,
   * and a moment later their threads are terminated and their leases released. A second call does
   * that at once. Resolves when the worker has stopped.
   */
  async stop(): Promise<void> {
    if (this.stateValue === 'new' || this.stateValue === 'stopped') {
      this.stateValue = 'stopped';
      return;
    }
    if (this.stateValue === 'running') {
      this.beginStopping();
      this.emit('stopping', { immediate: false });
      const { graceSeconds } = this.o;
      this.log.info(
        { running: this.slots.size, graceSeconds },
        `stopping: leasing no more tasks; ${this.slots.size} running task(s) get ${graceSeconds} s to finish`,
      );
      this.graceTimer = setTimeout(() => this.abortRunning(this.o.terminateAfterAbortMs), graceSeconds * SECOND);
    } else {
      this.emit('stopping', { immediate: true });
      this.log.warn({ running: this.slots.size }, 'stopping now: terminating and releasing running tasks');
      this.abortRunning(0);
    }
    await this.stoppedPromise?.catch(() => undefined);
  }

  private async run(): Promise<WorkerSummary> {
    this.pool = new ThreadPool({
      size: this.o.concurrency,
      heapMb: this.o.taskHeapMb,
      tasksModule: this.o.registry.modulePath,
      defaultCloudpath: this.o.defaultCloudpath,
      logLevel: this.log.level,
    });
    await this.pool.ready();
    this.startedAt = Date.now();
    this.startedCpu = process.cpuUsage();
    this.log.info(
      {
        queue: this.queue.url,
        tasks: this.o.registry.keys,
        concurrency: this.o.concurrency,
        leaseSeconds: this.o.leaseSeconds,
        maxAttempts: this.o.maxAttempts,
        taskHeapMb: this.o.taskHeapMb,
        taskTimeoutSeconds: this.o.taskTimeoutSeconds ?? null,
        worker: this.o.workerId,
      },
      'worker started',
    );
    try {
      if (!this.stopping) await this.leaseLoop();
    } catch (error) {
      this.fatal = error;
      this.log.error({ err: error }, 'the queue refused the worker; releasing running tasks and stopping');
      this.beginStopping();
      this.abortRunning(0);
    }
    // Ended on its own (exitWhenEmpty) or by stop(): wait for every leased task to be settled, or
    // until the shutdown deadline, after which a lease the queue did not take back simply expires.
    this.beginStopping();
    await this.settledOrDeadline();
    if (this.slots.size > 0) {
      this.log.error(
        { unsettled: this.slots.size, leaseSeconds: this.o.leaseSeconds },
        `${this.slots.size} task(s) could not be released in time (the queue did not answer): they become visible again when their leases expire`,
      );
    }
    if (this.graceTimer) clearTimeout(this.graceTimer);
    await this.pool.close();
    this.stateValue = 'stopped';
    this.stoppedAt = Date.now();
    this.stoppedCpu = this.startedCpu && process.cpuUsage(this.startedCpu);
    const summary = this.summary();
    this.log.info(summary, 'worker stopped');
    this.emit('stopped', summary);
    if (this.fatal !== undefined) throw this.fatal;
    return summary;
  }

  private async settledOrDeadline(): Promise<void> {
    while (this.slots.size > 0) {
      const allFinished = Promise.all([...this.slots].map((slot) => slot.finished)).then(() => false);
      // The deadline exists once running tasks were aborted; until then, wake up when that happens.
      const deadline = this.deadline ? this.deadline.then(() => true) : this.wakeOnStop.wait().then(() => false);
      if (await Promise.race([allFinished, deadline])) return;
    }
  }

  private beginStopping(): void {
    if (this.stateValue === 'running') this.stateValue = 'stopping';
    this.pool?.retire();
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
      const free = this.o.concurrency - this.slots.size;
      if (free <= 0) {
        await this.waitForSlot();
        continue;
      }
      let leased: LeasedTask[];
      try {
        leased = await this.queue.lease({
          count: Math.min(free, MAX_LEASE_BATCH),
          seconds: this.o.leaseSeconds,
          waitSeconds: this.o.pollWaitSeconds,
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
        for (const task of leased) this.launch(task, { kind: 'unstarted-at-stop' });
        break;
      }
      if (leased.length > 0) {
        this.idle.reset();
        for (const task of leased) this.launch(task);
        continue;
      }
      if (this.o.exitWhenEmpty && this.slots.size === 0) {
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
      if (this.o.pollWaitSeconds === 0) await this.wakeOnSlot.wait(this.idle.next());
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
    await this.wakeOnStop.wait(waitMs);
  }

  private waitForSlot(): Promise<void> {
    return this.stopping ? Promise.resolve() : this.wakeOnSlot.wait();
  }

  /** Takes a leased task through to its outcome; `decided`: the outcome is known without running it. */
  private launch(task: LeasedTask, decided?: Happening): void {
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const { name, problem } = decided ? {} : this.check(task);
    const log = this.log.child(
      name ? { taskId: task.id, task: name, attempt: task.attempt } : { taskId: task.id, attempt: task.attempt },
    );
    const slot: Slot = {
      leased: task,
      name,
      log,
      timers: [],
      concluded: false,
      finished,
      finish: () => {
        for (const timer of slot.timers) clearTimeout(timer);
        this.slots.delete(slot);
        finish();
        this.wakeOnSlot.notify();
      },
      heartbeat: new Heartbeat({
        queue: this.queue,
        task,
        leaseSeconds: this.o.leaseSeconds,
        log,
        onLost: () => this.onLeaseRefused(slot),
      }),
    };
    this.slots.add(slot);
    slot.heartbeat.start();
    const handled = decided
      ? this.conclude(slot, decided)
      : problem
        ? this.conclude(slot, problem.happening, problem.failure)
        : this.runInThread(slot);
    void handled.catch((error: unknown) => {
      // Every expected failure is handled; reaching here is a bug worth a loud line, not a crash.
      log.error({ err: error }, 'internal error while handling a task; its lease will expire');
      void slot.heartbeat.stop();
      slot.finish();
    });
  }

  /** The task's name, and why the message cannot run if it cannot: checked before it takes a thread. */
  private check(task: LeasedTask): { name?: string; problem?: { happening: Happening; failure: Failure } } {
    let name: string;
    try {
      const parsed = this.o.registry.parse(task.body);
      name = formatTaskKey(parsed.envelope.key);
      const cloudpath = parsed.cloudpath ?? this.o.defaultCloudpath;
      if (!this.validCloudpaths.has(cloudpath)) {
        try {
          parseCloudpath(cloudpath);
        } catch (error) {
          throw new TaskMessageError(
            'InvalidParams',
            `cannot open the task's cloudpath ${JSON.stringify(cloudpath)}: ${(error as Error).message}`,
          );
        }
        this.validCloudpaths.add(cloudpath);
      }
    } catch (error) {
      // Only TaskMessageError is expected; a schema whose own refinement throws is bad params too.
      const reason = error instanceof TaskMessageError ? error.reason : 'InvalidParams';
      const kind =
        reason === 'MalformedTask' ? 'malformed' : reason === 'UnknownTask' ? 'unknown-task' : 'invalid-params';
      return { problem: { happening: { kind }, failure: { name: reason, message: (error as Error).message } } };
    }
    if (task.attempt > this.o.maxAttempts) {
      const message = `leased ${task.attempt} times (TQ_MAX_ATTEMPTS=${this.o.maxAttempts}) without finishing: the workers running it were killed or lost its lease`;
      return {
        name,
        problem: { happening: { kind: 'too-many-leases' }, failure: { name: 'TooManyAttempts', message } },
      };
    }
    return { name };
  }

  private async runInThread(slot: Slot): Promise<void> {
    const { leased: task, log } = slot;
    const thread = this.pool!.take();
    slot.thread = thread;
    slot.startedAt = Date.now();
    log.info('task started');
    this.emit('taskStarted', { taskId: task.id, task: slot.name!, attempt: task.attempt });
    const timeout = this.o.taskTimeoutSeconds;
    if (timeout !== undefined) slot.timers.push(setTimeout(() => this.giveUp(slot, 'timeout'), timeout * SECOND));
    let result: RunResult;
    try {
      result = await thread.run({
        body: task.body,
        taskId: task.id,
        attempt: task.attempt,
        onLog: (line) => relayLog(log, line),
      });
    } finally {
      slot.thread = undefined;
      this.pool!.give(thread);
    }
    const [happening, failure] = this.interpret(result, slot);
    return this.conclude(slot, happening, failure);
  }

  /** What the thread's result means, given whether (and why) the worker aborted the task. */
  private interpret(result: RunResult, slot: Slot): [Happening, Failure | undefined] {
    if (result.kind === 'returned') return [{ kind: 'returned' }, undefined];
    const timeout = this.o.taskTimeoutSeconds ?? 0;
    switch (slot.givenUp) {
      case 'stopping':
      case 'lease-lost':
        return [{ kind: 'stopped' }, undefined];
      case 'timeout':
        return [
          { kind: 'timed-out', timeoutSeconds: timeout },
          {
            name: 'TaskTimeout',
            message: `the task ran longer than TQ_TASK_TIMEOUT_SECONDS=${timeout} s; it was aborted${result.kind === 'terminated' ? ' and, as it did not return, terminated' : ''}`,
          },
        ];
      default:
        break;
    }
    switch (result.kind) {
      case 'threw':
        return [{ kind: 'threw', errorName: result.error.name, permanent: result.error.permanent }, result.error];
      case 'out-of-memory':
        return [
          { kind: 'out-of-memory', heapMb: this.o.taskHeapMb },
          {
            name: 'OutOfMemory',
            message: `the task ran out of memory: its thread's heap limit is ${this.o.taskHeapMb} MB (WORKER_TASK_HEAP_MB); raise it, or lower WORKER_CONCURRENCY so that each task gets more`,
          },
        ];
      case 'crashed':
        return [{ kind: 'thread-crashed', errorName: result.error.name }, result.error];
      case 'terminated':
        return [
          { kind: 'thread-crashed', errorName: 'ThreadTerminated' },
          { name: 'ThreadTerminated', message: "the task's thread was terminated" },
        ];
    }
  }

  /** Aborts the task's signal; terminates its thread if it has not returned a moment later. */
  private giveUp(slot: Slot, why: GiveUpReason, terminateAfterMs = this.o.terminateAfterAbortMs): void {
    const thread = slot.thread;
    if (!thread || slot.concluded) return;
    if (!slot.givenUp) {
      slot.givenUp = why;
      const message =
        why === 'stopping'
          ? 'the worker is stopping'
          : why === 'timeout'
            ? `the task ran longer than TQ_TASK_TIMEOUT_SECONDS=${this.o.taskTimeoutSeconds} s`
            : `the lease on task ${slot.leased.id} was lost`;
      thread.abort(ABORT_REASONS[why], message);
    }
    if (terminateAfterMs <= 0) void thread.terminate();
    else slot.timers.push(setTimeout(() => void thread.terminate(), terminateAfterMs));
  }

  private onLeaseRefused(slot: Slot): void {
    if (slot.concluded || !slot.thread) return;
    slot.log.error(
      'lease lost while the task ran (renewal refused): aborting it; another worker may be running it now',
    );
    this.giveUp(slot, 'lease-lost');
  }

  /** Shutdown past the grace period (or a second stop): abort every running task, then terminate it. */
  private abortRunning(terminateAfterMs: number): void {
    this.deadline = delay(terminateAfterMs + SHUTDOWN_SETTLE_MS, undefined, { ref: false });
    this.wakeOnStop.notify();
    for (const slot of this.slots) this.giveUp(slot, 'stopping', terminateAfterMs);
  }

  /** Applies the policy's decision with the latest lease handle, then logs and counts it. */
  private async conclude(slot: Slot, happening: Happening, failure?: Failure): Promise<void> {
    if (slot.concluded) return;
    slot.concluded = true;
    const { leased, log } = slot;
    const decision = decide({ happening, attempt: leased.attempt, leaseLost: slot.heartbeat.lost }, this.policy);
    const durationMs = slot.startedAt ? Date.now() - slot.startedAt : 0;
    try {
      const latest = await slot.heartbeat.stop();
      await this.apply(decision, latest, log, failure);
      this.count(decision);
      this.logDecision(slot, decision, durationMs, failure);
      const action = decision.action;
      this.emit('taskEnded', {
        taskId: leased.id,
        task: slot.name,
        attempt: leased.attempt,
        outcome: decision.outcome,
        durationMs,
        failed: decision.failed,
        reason: action.kind === 'dead-letter' ? action.reason : undefined,
        error: failure,
        retryDelaySeconds:
          action.kind === 'release' && decision.outcome === 'retried' ? action.delaySeconds : undefined,
      } satisfies TaskEndedEvent);
    } catch (error) {
      this.logSettleFailure(error, log);
    } finally {
      slot.finish();
    }
  }

  private async apply(decision: Decision, latest: LeasedTask, log: Logger, failure?: Failure): Promise<void> {
    const { action } = decision;
    switch (action.kind) {
      case 'delete':
        return this.settle('delete', log, () => this.queue.delete(latest));
      case 'release':
        return this.settle('release', log, () => this.queue.release(latest, action.delaySeconds));
      case 'dead-letter': {
        const record = this.failureRecord(latest, action.reason, failure, action.withStack);
        return this.settle('dead-letter', log, () => this.queue.deadLetter(latest, record));
      }
      case 'leave':
        return;
    }
  }

  private count(decision: Decision): void {
    if (decision.failed) this.counters.failed++;
    const key = (
      {
        succeeded: 'succeeded',
        retried: 'retried',
        'dead-lettered': 'deadLettered',
        released: 'released',
        'lease-lost': 'leaseLost',
        'completed-lease-lost': 'completedAfterLeaseLost',
      } as const
    )[decision.outcome];
    this.counters[key]++;
  }

  private logDecision(slot: Slot, decision: Decision, durationMs: number, failure?: Failure): void {
    const { action } = decision;
    const fields: Record<string, unknown> = { durationMs, outcome: decision.outcome };
    if (action.kind === 'dead-letter') fields.reason = action.reason;
    if (action.kind === 'release' && action.delaySeconds > 0) fields.retryDelaySeconds = action.delaySeconds;
    if (failure) {
      // A stack only for what the task threw; for the worker's own reasons the message says it all.
      if (failure.stack) fields.err = asError(failure);
      else fields.error = failure.message;
    }
    if (decision.outcome === 'retried' || decision.failed) fields.maxAttempts = this.o.maxAttempts;
    slot.log[decision.level](fields, decision.message);
  }

  /**
   * Runs a completion call, retrying transient queue errors a few times (the lease still holds
   * meanwhile). At shutdown the deadline in `run()` stops waiting for it.
   */
  private async settle(what: string, log: Logger, call: () => Promise<void>): Promise<void> {
    const backoff = new Backoff({ baseMs: 200, capMs: 5 * SECOND });
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        const retryable = !(error instanceof QueueError) || error.transient;
        if (!retryable || attempt >= 5 || this.deadline) throw error;
        const waitMs = backoff.next();
        log.warn({ err: error, retryInMs: Math.round(waitMs) }, `queue error on ${what}; retrying`);
        await delay(waitMs, undefined, { ref: false });
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

  private failureRecord(
    task: LeasedTask,
    reason: string,
    failure: Failure | undefined,
    withStack: boolean,
  ): FailureRecord {
    return {
      taskId: task.id,
      body: task.body,
      reason,
      message: failure?.message ?? reason,
      stack: withStack ? failure?.stack : undefined,
      attempts: task.attempt,
      worker: this.o.workerId,
      failedAt: new Date().toISOString(),
    };
  }
}

/** Re-logs a line the task's logger wrote in its thread through the task's logger here. */
function relayLog(log: Logger, line: string): void {
  const { level, message, ...fields } = JSON.parse(line) as { level?: number; message?: string } & Record<
    string,
    unknown
  >;
  const label = (typeof level === 'number' && (log.levels.labels[level] as Level | undefined)) || 'info';
  log[label](fields, message);
}

function asError(failure: Failure): Error {
  const error = new Error(failure.message);
  error.name = failure.name;
  if (failure.stack) error.stack = failure.stack;
  return error;
}
