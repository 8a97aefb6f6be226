/**
 * The worker's coordinator, on the main thread: starts the task threads (worker/pool.ts), runs the
 * lease loop (worker/leaseLoop.ts), gives each leased task a slot with its lease heartbeat
 * (worker/slot.ts), checks it (worker/taskCheck.ts), runs it in a thread (worker/taskRunner.ts) and
 * concludes it (worker/conclude.ts); and owns the lifecycle: start, graceful stop, shutdown deadline.
 * Task code never runs on this thread, so leases, /healthz, signals and the grace timer keep
 * their promises whatever the task does. Embeddable: the CLI (`worker/main.ts`), the local runner
 * and the tests drive this class; it never exits the process and never installs signal handlers.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import type { LeasedTask } from '../lib/queue/types';
import { retryDelaySeconds, SECOND } from './backoff';
import { Concluder } from './conclude';
import { DeleteBatcher } from './deleteBatcher';
import { runOfBody } from '../lib/queue/message';
import type { WorkerEvents, WorkerState, WorkerSummary } from './events';
import { leaseLoop, MAX_LEASE_BATCH } from './leaseLoop';
import type { Logger } from './logger';
import { assertWorkerOptions, ResolvedWorkerOptions, WorkerOptions } from './options';
import type { Happening } from './outcome';
import { Slot } from './slot';
import { TaskCheck } from './taskCheck';
import { TaskRunner } from './taskRunner';
import { Wakeup } from './wakeup';

export type { WorkerOptions } from './options';
export * from './events';

/** At shutdown, once threads are terminated, how long releases may take before they are abandoned. */
const SHUTDOWN_SETTLE_MS = 600;

export class Worker extends EventEmitter<WorkerEvents> {
  private readonly o: ResolvedWorkerOptions;
  private readonly log: Logger;
  private readonly taskCheck: TaskCheck;
  private readonly concluder: Concluder;
  private readonly slots = new Set<Slot>();
  /** Lease calls under way: shutdown waits for them (what they bring is released) until its deadline. */
  private readonly leaseCalls = new Set<Promise<unknown>>();
  private runner: TaskRunner | undefined;
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
  private startedThreadCpu: NodeJS.CpuUsage | undefined;
  private stoppedThreadCpu: NodeJS.CpuUsage | undefined;
  private fatal: unknown;
  private stateValue: WorkerState = 'new';
  private stoppedPromise: Promise<WorkerSummary> | undefined;

  /** Throws a `WorkerOptionsError` naming every bad option. */
  constructor(options: WorkerOptions) {
    super();
    const o = (this.o = assertWorkerOptions(options));
    this.log = o.log;
    this.taskCheck = new TaskCheck(o.registry, o.defaultCloudpath, o.maxAttempts);
    const batcher = DeleteBatcher.supports(o.queue) ? new DeleteBatcher(o.queue) : undefined;
    this.concluder = new Concluder({
      queue: o.queue,
      delete: batcher ? (task) => batcher.delete(task) : (task) => o.queue.delete(task),
      policy: {
        maxAttempts: o.maxAttempts,
        retryDelaySeconds: (attempt) => retryDelaySeconds(attempt, o.maxRetryDelaySeconds),
      },
      maxAttempts: o.maxAttempts,
      workerId: o.workerId,
      recorder: o.recorder,
      pastDeadline: () => this.deadline !== undefined,
      onEnded: (event) => this.emit('taskEnded', event),
      endedWanted: () => this.listenerCount('taskEnded') > 0,
    });
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
    return {
      ...this.concluder.counters,
      durationSeconds: this.startedAt ? (end - this.startedAt) / SECOND : 0,
      ...this.cpuSoFar(),
    };
  }

  /** CPU time since the start (until the stop, once stopped): the process's, then the main thread's. */
  private cpuSoFar(): { cpuSeconds: number; mainThreadCpuSeconds: number } {
    const cpu = this.stoppedCpu ?? (this.startedCpu ? process.cpuUsage(this.startedCpu) : undefined);
    const mainCpu =
      this.stoppedThreadCpu ?? (this.startedThreadCpu ? process.threadCpuUsage(this.startedThreadCpu) : undefined);
    const seconds = (usage: NodeJS.CpuUsage | undefined) =>
      usage ? Math.round((usage.user + usage.system) / 1000) / 1000 : 0;
    return { cpuSeconds: seconds(cpu), mainThreadCpuSeconds: seconds(mainCpu) };
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
    const { o } = this;
    const runner = (this.runner = new TaskRunner({
      pool: {
        size: o.concurrency,
        heapMb: o.taskHeapMb,
        tasksModule: o.registry.modulePath,
        defaultCloudpath: o.defaultCloudpath,
        logLevel: this.log.level,
      },
      concurrency: o.concurrency,
      leaseSeconds: o.leaseSeconds,
      onThreadFree: () => this.wakeOnSlot.notify(),
      taskTimeoutSeconds: o.taskTimeoutSeconds,
      taskHeapMb: o.taskHeapMb,
      terminateAfterAbortMs: o.terminateAfterAbortMs,
      onStarted: (slot) => {
        // The event object only for someone listening: the CLI worker has no listener.
        if (this.listenerCount('taskStarted') === 0) return;
        this.emit('taskStarted', { taskId: slot.leased.id, task: slot.name!, attempt: slot.leased.attempt });
      },
      conclude: (slot, happening, failure) => this.concluder.conclude(slot, happening, failure),
    }));
    const pool = runner.pool;
    // Leasing begins while the threads still load the task module: a task leased meanwhile waits
    // for its thread with its lease renewed, as one leased ahead of a free thread does.
    this.startedAt = Date.now();
    this.startedCpu = process.cpuUsage();
    this.startedThreadCpu = process.threadCpuUsage();
    this.logStarted();
    void pool.ready().then(() => {
      if (this.stopping) return;
      this.logThreadsReady();
      this.emit('threadsReady');
    });
    try {
      if (!this.stopping) await this.runLeaseLoop();
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
        { unsettled: this.slots.size, leaseSeconds: o.leaseSeconds },
        `${this.slots.size} task(s) could not be released in time (the queue did not answer): ` +
          'they become visible again when their leases expire',
      );
    }
    if (this.graceTimer) clearTimeout(this.graceTimer);
    await pool.close();
    this.stateValue = 'stopped';
    this.stoppedAt = Date.now();
    this.stoppedCpu = this.startedCpu && process.cpuUsage(this.startedCpu);
    this.stoppedThreadCpu = this.startedThreadCpu && process.threadCpuUsage(this.startedThreadCpu);
    const summary = this.summary();
    this.log.info(summary, 'worker stopped');
    this.emit('stopped', summary);
    if (this.fatal !== undefined) throw this.fatal;
    return summary;
  }

  private logStarted(): void {
    const { o } = this;
    this.log.info(
      {
        queue: o.queue.url,
        tasks: o.registry.keys,
        concurrency: o.concurrency,
        leaseSeconds: o.leaseSeconds,
        maxAttempts: o.maxAttempts,
        taskHeapMb: o.taskHeapMb,
        taskTimeoutSeconds: o.taskTimeoutSeconds ?? null,
        worker: o.workerId,
      },
      'worker started',
    );
  }

  /**
   * How long the threads took to load the task module, and the CPU that took (all threads, then
   * the main one): what a start costs before the first task can run.
   */
  private logThreadsReady(): void {
    this.log.info(
      { threadsLoadSeconds: (Date.now() - this.startedAt) / SECOND, ...this.cpuSoFar() },
      'task threads ready',
    );
  }

  private runLeaseLoop(): Promise<void> {
    return leaseLoop({
      o: this.o,
      queue: this.o.queue,
      log: this.log,
      signal: this.loopAbort.signal,
      wakeOnSlot: this.wakeOnSlot,
      wakeOnStop: this.wakeOnStop,
      inFlight: () => this.slots.size,
      wanted: () => {
        const runner = this.runner!;
        return this.o.concurrency + runner.prefetch - runner.holding;
      },
      // Short tasks, many held ahead: one lease call per batch rather than one per finished task,
      // while the threads still hold a batch's worth beyond what they run.
      leaseAtLeast: () => (this.runner!.prefetch >= 2 * MAX_LEASE_BATCH ? MAX_LEASE_BATCH : 1),
      launch: (task, decided) => this.launch(task, decided),
      track: (call) => {
        this.leaseCalls.add(call);
        void call.finally(() => {
          this.leaseCalls.delete(call);
          this.wakeOnStop.notify();
        });
      },
    });
  }

  private async settledOrDeadline(): Promise<void> {
    while (this.slots.size > 0 || this.leaseCalls.size > 0) {
      const waits: Array<Promise<boolean>> = [];
      if (this.slots.size > 0) waits.push(Promise.all([...this.slots].map((slot) => slot.finished)).then(() => false));
      // A lease call ending notifies wakeOnStop (and may have added slots): look again then.
      if (this.leaseCalls.size > 0) waits.push(this.wakeOnStop.wait().then(() => false));
      // The deadline exists once running tasks were aborted; until then, wake up when that happens.
      const deadline = this.deadline ? this.deadline.then(() => true) : this.wakeOnStop.wait().then(() => false);
      if (await Promise.race([...waits, deadline])) return;
    }
  }

  private beginStopping(): void {
    if (this.stateValue === 'running') this.stateValue = 'stopping';
    this.runner?.pool.retire();
    this.runner?.releaseBacklog();
    if (this.loopAbort.signal.aborted) return;
    this.loopAbort.abort();
    this.wakeOnSlot.notify();
    this.wakeOnStop.notify();
  }

  private get stopping(): boolean {
    return this.loopAbort.signal.aborted;
  }

  private readonly onLeaseLost = (slot: Slot): void => this.runner?.onLeaseRefused(slot);
  private readonly onSlotFinished = (slot: Slot): void => {
    this.slots.delete(slot);
    this.wakeOnSlot.notify();
  };

  /** Takes a leased task through to its outcome; `decided`: the outcome is known without running it. */
  private launch(task: LeasedTask, decided?: Happening): void {
    if (this.stateValue === 'stopped') {
      // A lease call that outlived the shutdown deadline: nobody is left to run or release it.
      this.log.warn({ taskId: task.id }, 'task leased after the worker stopped: visible again when its lease expires');
      return;
    }
    const checked = decided ? { run: runOfBody(task.body) } : this.taskCheck.check(task);
    const { name, problem } = checked;
    const runner = this.runner!;
    const run = checked.run?.id;
    this.o.recorder.started(run, task.attempt);
    const slot = new Slot({
      task,
      name,
      run,
      log: this.log,
      queue: this.o.queue,
      leaseSeconds: this.o.leaseSeconds,
      onLeaseLost: this.onLeaseLost,
      onFinish: this.onSlotFinished,
    });
    this.slots.add(slot);
    slot.heartbeat.start();
    const handled = decided
      ? this.concluder.conclude(slot, decided)
      : problem
        ? this.concluder.conclude(slot, problem.happening, problem.failure)
        : runner.enqueue(slot);
    void handled.catch((error: unknown) => {
      // Every expected failure is handled; reaching here is a bug worth a loud line, not a crash.
      slot.log.error({ err: error }, 'internal error while handling a task; its lease will expire');
      void slot.heartbeat.stop();
      slot.finish();
    });
  }

  /** Shutdown past the grace period (or a second stop): abort every running task, then terminate it. */
  private abortRunning(terminateAfterMs: number): void {
    this.deadline = delay(terminateAfterMs + SHUTDOWN_SETTLE_MS, undefined, { ref: false });
    this.wakeOnStop.notify();
    for (const slot of this.slots) this.runner?.giveUp(slot, 'stopping', terminateAfterMs);
  }
}
