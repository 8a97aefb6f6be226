/**
 * The tasks a worker can run, looked up by their python-task-queue `[module, name]` key, and the
 * parsing of a message into a call: envelope → registered task → parameters checked by its schema.
 */
import path from 'node:path';
import { z } from 'zod';
import { TaskMessageError } from '../lib/queue/errors';
import { decodeTask, formatTaskKey, TaskEnvelope } from '../lib/queue/message';
import { UserError } from '../lib/errors';
import { closest } from '../lib/suggest';
import { AnyTaskDefinition, CLOUDPATH_COLUMN } from '../lib/task';

/** A message turned into something runnable. */
export interface ParsedTask {
  readonly envelope: TaskEnvelope;
  readonly definition: AnyTaskDefinition;
  /** The parameters as the task's schema output them. */
  readonly params: Record<string, unknown>;
  /** The message's `cloudpath` keyword argument, if it carried one. */
  readonly cloudpath?: string;
}

export class TaskRegistry {
  private readonly byKey = new Map<string, AnyTaskDefinition>();
  /** Each task's schema, strict: a message with an unknown (e.g. misspelt) argument is refused. */
  private readonly strictParams = new Map<string, z.ZodType>();

  constructor(
    definitions: readonly AnyTaskDefinition[],
    /** Where the list came from, for error messages. */
    readonly source = 'the task list',
    /**
     * The module the task threads load to run these tasks (absolute path); undefined: the
     * project's tasks/index.ts, built into the worker.
     */
    readonly modulePath?: string,
  ) {
    for (const [index, definition] of definitions.entries()) {
      const problem = definitionProblem(definition);
      if (problem)
        throw new UserError(
          `${source}: tasks[${index}] ${problem}; declare tasks with defineTask({ key, params, run })`,
        );
      const name = formatTaskKey(definition.key);
      if (this.byKey.has(name))
        throw new UserError(`${source}: two tasks are registered under the key ${name}; give each task its own key`);
      this.byKey.set(name, definition);
      this.strictParams.set(name, definition.params.strict());
    }
    if (this.byKey.size === 0) throw new UserError(`${source} registers no tasks; export tasks: [yourTask] from it`);
  }

  get keys(): string[] {
    return [...this.byKey.keys()];
  }

  get(key: string): AnyTaskDefinition | undefined {
    return this.byKey.get(key);
  }

  /**
   * Decodes a message body and checks its parameters. Throws only `TaskMessageError`
   * (MalformedTask, UnknownTask, InvalidParams): a message that can never run.
   */
  parse(body: string): ParsedTask {
    const envelope = decodeTask(body);
    const name = formatTaskKey(envelope.key);
    const definition = this.byKey.get(name);
    if (!definition) {
      throw new TaskMessageError(
        'UnknownTask',
        `no task is registered under the key ${name} (this worker knows ${this.keys.join(', ')}): ` +
          'deploy a worker image that registers it, then requeue',
      );
    }
    const cloudpathValue = envelope.kwargs[CLOUDPATH_COLUMN];
    if (cloudpathValue !== undefined && typeof cloudpathValue !== 'string') {
      throw new TaskMessageError(
        'InvalidParams',
        `task ${name}: the "${CLOUDPATH_COLUMN}" argument must be a string, got ${JSON.stringify(cloudpathValue)}`,
      );
    }
    // `cloudpath` is the worker's (it opens the storage); a task only sees it if its schema asks.
    const input = { ...envelope.kwargs };
    if (!(CLOUDPATH_COLUMN in definition.params.shape)) delete input[CLOUDPATH_COLUMN];
    const parsed = this.strictParams.get(name)!.safeParse(input);
    if (!parsed.success) {
      throw new TaskMessageError(
        'InvalidParams',
        `task ${name}: parameters do not match its schema:\n` +
          describeIssues(parsed.error, Object.keys(definition.params.shape)),
      );
    }
    return { envelope, definition, params: parsed.data as Record<string, unknown>, cloudpath: cloudpathValue };
  }
}

/** zod's own wording, except unknown arguments, which name the nearest known one. */
function describeIssues(error: z.ZodError, known: readonly string[]): string {
  const lines: string[] = [];
  const rest: z.core.$ZodIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code !== 'unrecognized_keys' || issue.path.length > 0) {
      rest.push(issue);
      continue;
    }
    for (const key of issue.keys) {
      const near = closest(key, known);
      lines.push(
        `✖ unknown argument ${JSON.stringify(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; ` +
          `the task takes ${known.join(', ')}`,
      );
    }
  }
  if (rest.length > 0) lines.push(z.prettifyError(new z.ZodError(rest)));
  return lines.join('\n');
}

function definitionProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'is not a task definition object';
  const { key, params, run } = value as Partial<AnyTaskDefinition>;
  if (!Array.isArray(key) || key.length !== 2 || key.some((part) => typeof part !== 'string' || part === '')) {
    return 'has no key of the form [module, name]';
  }
  if (
    typeof params !== 'object' ||
    params === null ||
    typeof params.safeParse !== 'function' ||
    typeof params.shape !== 'object'
  ) {
    return `(${formatTaskKey(key)}) has no params schema (a z.object)`;
  }
  if (typeof run !== 'function') return `(${formatTaskKey(key)}) has no run function`;
  return undefined;
}

/**
 * Loads a module that exports `tasks: AnyTaskDefinition[]` (a `.ts` file needs tsx, which
 * `npm run worker` uses; the bundled container worker takes `.js`).
 */
export function loadTaskModule(file: string): TaskRegistry {
  const resolved = path.resolve(file);
  let loaded: unknown;
  try {
    // A user-chosen path: it cannot be a static import. Typed unknown and checked below.
    loaded = require(resolved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' && (error as Error).message.includes(resolved)) {
      throw new UserError(
        `--tasks ${file}: no such module (${resolved}); pass the file that exports your task list, e.g. tasks/index.ts`,
      );
    }
    throw new UserError(`--tasks ${file}: loading it failed: ${(error as Error).stack ?? String(error)}`);
  }
  const tasks = typeof loaded === 'object' && loaded !== null ? (loaded as { tasks?: unknown }).tasks : undefined;
  if (!Array.isArray(tasks)) {
    throw new UserError(
      `--tasks ${file}: the module does not export a tasks array; add export const tasks = [yourTask]`,
    );
  }
  return new TaskRegistry(tasks as AnyTaskDefinition[], `--tasks ${file}`, resolved);
}
