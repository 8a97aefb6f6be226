/**
 * How a task is declared: its python-task-queue `[module, name]` key, its parameter schema (one
 * column of the parameter table per parameter), the function, and optionally the filter that skips
 * rows whose work is already done. The schema types the function, the inserter validates every
 * row against it, and the worker validates every message against it: one declaration, three uses.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { TaskKey } from './queue/message';
import { existingKeysOf } from './storage/existingKeys';
import type { Storage } from './storage/types';

/** The reserved column that carries each task's output location (the `cloudpath` setting by default). */
export const CLOUDPATH_COLUMN = 'cloudpath';

export type ParamsSchema = z.ZodObject<z.ZodRawShape>;
export type ParamsOf<S extends ParamsSchema> = z.output<S>;

export interface TaskContext {
  /** The task's id (the queue envelope id). */
  readonly taskId: string;
  /** 1 on the first try; see the `maxAttempts` setting. */
  readonly attempt: number;
  /** Output storage opened at this task's `cloudpath` (the column added at insert time). */
  readonly storage: Storage;
  /** Structured logger; lines carry the task id and attempt. */
  readonly log: Logger;
  /**
   * Fires when the worker gives the task up: shutdown past the grace period, a lost lease, or the
   * task timeout (the `taskTimeoutSeconds` setting). Stop and throw; a task still running a moment later is
   * terminated.
   */
  readonly signal: AbortSignal;
}

/** Marks errors that retrying cannot fix; checked by brand, so it works across module copies and threads. */
const PERMANENT = Symbol.for('gke-batch.PermanentError');

/**
 * Throw this (or a subclass) when retrying cannot help, e.g. the input itself is bad: the worker
 * dead-letters the task at once, with this error in its failure record, instead of retrying it
 * up to `maxAttempts` times.
 *
 *   if (!header.ok) throw new PermanentError(`${params.file} is not a TIFF file`);
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
  readonly [PERMANENT] = true;
}

/** True for a `PermanentError`, whichever copy of this module made it. */
export function isPermanentError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[PERMANENT] === true;
}

/**
 * Keeps the rows that still need running. Called by the inserter once per chunk of rows (a chunk
 * holds at most a few thousand rows, so memory stays bounded on any table size).
 */
export type FilterTasks<P> = (rows: readonly P[], cloudpath: Storage) => Promise<readonly P[]>;

export interface TaskDefinition<S extends ParamsSchema = ParamsSchema> {
  /**
   * python-task-queue's registry key: `[module, name]`, e.g. `['tasks.example', 'count_primes']`.
   * Keep it stable: queued messages name it.
   */
  readonly key: TaskKey;
  /** One entry per parameter-table column (the `cloudpath` column is added for you). */
  readonly params: S;
  readonly run: (params: ParamsOf<S>, context: TaskContext) => Promise<void> | void;
  /** Default: keep every row. See `skipExistingOutputs` for the common case. */
  readonly filterTasks?: FilterTasks<ParamsOf<S>>;
  /** One line for `--help` and docs. */
  readonly description?: string;
}

/**
 * A task of any parameter type, for registries that hold several tasks. `any` is deliberate: the
 * parameter types differ per task, and the worker only ever calls `run` with what that task's own
 * schema parsed, so the list needs no common parameter type.
 */
export type AnyTaskDefinition = TaskDefinition<any>;

/** Declares a task; the identity function that gives `run` its parameter types. */
export function defineTask<S extends ParamsSchema>(definition: TaskDefinition<S>): TaskDefinition<S> {
  return definition;
}

/**
 * The common skip filter: a row is done when its output object exists under the cloudpath.
 * `outputKey` names the object from the row's columns, e.g. `(row) => \`primes/${row.start}.json\``.
 * Where a chunk's keys share a prefix, one paged listing of it answers this chunk and the later
 * ones instead of a request per row (the rule: `lib/storage/existingKeys.ts`, docs/storage.md).
 */
export function skipExistingOutputs<R>(outputKey: (row: R) => string) {
  return async <P extends R>(rows: readonly P[], cloudpath: Storage): Promise<readonly P[]> => {
    const done = await existingKeysOf(cloudpath).check(rows.map(outputKey));
    return rows.filter((_, index) => !done[index]);
  };
}
