/**
 * The Worker's options, their defaults, and `assertWorkerOptions`: a bad option is one clear error
 * naming it, its value and the rule, never silently clamped to something that works.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { MAX_LEASE_SECONDS } from '../lib/settings';
import type { Queue } from '../lib/queue/types';
import { BackoffPolicy, SECOND } from './backoff';
import type { Logger } from './logger';
import { defaultTaskHeapMb } from './memory';
import type { TaskRegistry } from './registry';
import { noOutcomeRecorder, type OutcomeRecorder } from '../lib/runs/recorder';

export interface WorkerOptions {
  readonly queue: Queue;
  /** The tasks, as the main thread parses messages; the threads load the same module (`registry.modulePath`). */
  readonly registry: TaskRegistry;
  /** Storage for tasks whose message has no `cloudpath` argument (the `cloudpath` setting). */
  readonly defaultCloudpath: string;
  readonly log: Logger;
  /** Lease length (setting `leaseSeconds`); renewed every third of it while a task runs. */
  readonly leaseSeconds: number;
  /** Setting `maxAttempts`: a task failing this many times is dead-lettered. */
  readonly maxAttempts: number;
  /** Setting `concurrency`: tasks run at once, each in its own thread. @defaultValue 1 */
  readonly concurrency?: number;
  /**
   * Setting `graceSeconds`: time running tasks get after `stop()` before they are aborted and released.
   * @defaultValue 20
   */
  readonly graceSeconds?: number;
  /**
   * Setting `taskTimeoutSeconds`: a task running longer is aborted, then terminated: a failed attempt.
   * @defaultValue off
   */
  readonly taskTimeoutSeconds?: number;
  /** Setting `taskHeapMb`: heap limit of each task thread. @defaultValue derived from the memory and the concurrency */
  readonly taskHeapMb?: number;
  /** After its signal aborts, how long a task may take to return before its thread is terminated. @defaultValue 500 */
  readonly terminateAfterAbortMs?: number;
  /** Stop (and resolve `start()`) once the queue holds nothing visible, leased or delayed. @defaultValue false */
  readonly exitWhenEmpty?: boolean;
  /** Cap on a failed task's retry delay, in seconds (5 s, 10 s, 20 s, ... up to this). @defaultValue 300 */
  readonly maxRetryDelaySeconds?: number;
  /** Waits while the queue is empty. @defaultValue 0.1 s doubling up to 10 s */
  readonly idleBackoff?: BackoffPolicy;
  /** Waits while the queue is unreachable. @defaultValue 1 s doubling up to 30 s */
  readonly errorBackoff?: BackoffPolicy;
  /** Long-poll wait per lease call (SQS, Pub/Sub; not the file queue). @defaultValue 20, or 1 with `exitWhenEmpty` */
  readonly pollWaitSeconds?: number;
  /** Identity in failure records and logs. @defaultValue `hostname:pid` */
  readonly workerId?: string;
  /** Told of every leased task and how it ended, per run (lib/runs/recorder.ts). @defaultValue records nothing */
  readonly recorder?: OutcomeRecorder;
}

/** The options with every default filled in. */
export type ResolvedWorkerOptions = Required<Omit<WorkerOptions, 'taskTimeoutSeconds'>> & {
  readonly taskTimeoutSeconds: number | undefined;
};

export class WorkerOptionsError extends TypeError {
  override readonly name = 'WorkerOptionsError';
}

const whole = (min: number, max: number) => z.number().int().min(min).max(max);
const backoff = z
  .object({ baseMs: z.number().positive(), capMs: z.number().positive(), factor: z.number().min(1).optional() })
  .refine((policy) => policy.capMs >= policy.baseMs, { message: 'capMs must be at least baseMs' });

const schema = z.object({
  queue: z.custom<Queue>((v) => typeof (v as Queue | undefined)?.lease === 'function', 'must be an open Queue'),
  registry: z.custom<TaskRegistry>(
    (v) => typeof (v as TaskRegistry | undefined)?.parse === 'function',
    'must be a TaskRegistry',
  ),
  log: z.custom<Logger>((v) => typeof (v as Logger | undefined)?.child === 'function', 'must be a pino Logger'),
  defaultCloudpath: z.string().min(1),
  leaseSeconds: whole(1, MAX_LEASE_SECONDS),
  maxAttempts: whole(1, 1000),
  concurrency: whole(1, 1000).optional(),
  graceSeconds: z.number().min(0).max(3600).optional(),
  taskTimeoutSeconds: z.number().positive().optional(),
  taskHeapMb: whole(16, 1024 * 1024).optional(),
  terminateAfterAbortMs: z
    .number()
    .min(0)
    .max(60 * SECOND)
    .optional(),
  exitWhenEmpty: z.boolean().optional(),
  maxRetryDelaySeconds: whole(0, 12 * 60 * 60).optional(),
  idleBackoff: backoff.optional(),
  errorBackoff: backoff.optional(),
  pollWaitSeconds: whole(0, 20).optional(),
  workerId: z.string().min(1).optional(),
});

/** Throws a `WorkerOptionsError` listing every bad option; returns the options with defaults filled in. */
export function assertWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      const value = issue.path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], options);
      const shown = typeof value === 'object' && value !== null ? '' : `=${JSON.stringify(value)}`;
      return `${key}${shown}: ${issue.message}`;
    });
    throw new WorkerOptionsError(`invalid Worker options:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  const concurrency = options.concurrency ?? 1;
  const exitWhenEmpty = options.exitWhenEmpty ?? false;
  return {
    ...options,
    concurrency,
    graceSeconds: options.graceSeconds ?? 20,
    taskTimeoutSeconds: options.taskTimeoutSeconds,
    taskHeapMb: options.taskHeapMb ?? defaultTaskHeapMb(concurrency),
    terminateAfterAbortMs: options.terminateAfterAbortMs ?? SECOND / 2,
    exitWhenEmpty,
    maxRetryDelaySeconds: options.maxRetryDelaySeconds ?? 300,
    idleBackoff: options.idleBackoff ?? { baseMs: 100, capMs: 10 * SECOND },
    errorBackoff: options.errorBackoff ?? { baseMs: SECOND, capMs: 30 * SECOND },
    // Every backend that can wait for a message does (SQS, Pub/Sub); the file queue cannot.
    pollWaitSeconds: options.queue.kind !== 'fq' ? (options.pollWaitSeconds ?? (exitWhenEmpty ? 1 : 20)) : 0,
    workerId: options.workerId ?? `${hostname()}:${process.pid}`,
    recorder: options.recorder ?? noOutcomeRecorder,
  };
}
