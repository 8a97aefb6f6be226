/**
 * The task message format, identical to python-task-queue's function tasks (`@queueable`). This is
 * the one place that knows the JSON; the queue backends treat bodies as opaque strings.
 *
 *   body    = {"payload": P, "queueName": "<queue>", "id": "<uuid>", "run": {"id": "<run id>", "row": N}}
 *   payload = [[module, name], [args...], {kwargs...}, id]      (id is -1 on insert)
 *
 * Bodies are written byte for byte as Python's `json.dumps` writes them (see pythonJson.ts). Our
 * tasks are called with keyword arguments only (one per parameter-table column), so `args` is
 * always `[]` when we insert; a message with positional args is refused as malformed, since a
 * TypeScript task has no positional parameter order to map them onto.
 *
 * `run` is ours (docs/operations.md, "Runs"): the insert the task came from and its table row.
 * python-task-queue reads only `payload` and `id` of an envelope, so Python workers ignore it.
 */
import { randomUUID } from 'node:crypto';
import { TaskMessageError } from './errors';
import { pythonJsonDumps } from './pythonJson';
import type { QueueMessage } from './types';

/** The `[module, name]` key a task function is registered under (python-task-queue's REGISTRY key). */
export type TaskKey = readonly [module: string, name: string];

/** Which insert a task came from, and its row in that table (0-based). */
export interface TaskRun {
  readonly id: string;
  readonly row?: number;
}

export interface TaskEnvelope {
  /** The envelope's `id`, else the id the queue leased the message under; undefined when neither is known. */
  readonly id?: string;
  readonly queueName: string;
  readonly key: TaskKey;
  readonly kwargs: Record<string, unknown>;
  /** The run that inserted it; undefined for messages without one (Python's, older ones). */
  readonly run?: TaskRun;
}

export function formatTaskKey(key: TaskKey): string {
  return `${key[0]}.${key[1]}`;
}

/**
 * `queueName` as python-task-queue writes it: the part of the queue URL after `fq://` or `sqs://`
 * (for us the absolute directory or the queue name), an https SQS URL as it is. Anything else
 * (a label in a test or benchmark) is kept.
 */
export function pythonQueueName(queue: string): string {
  const match = /^(?:fq|sqs):\/\/(.*)$/.exec(queue);
  return match ? match[1]! : queue;
}

/**
 * Builds the message for one task: its id and its body. `queue` is the queue's URL (or any label);
 * `id` defaults to a fresh uuid4 (never contains `--`); `run` names the insert it belongs to.
 */
export function encodeTask(
  key: TaskKey,
  kwargs: Record<string, unknown>,
  queue: string,
  id: string = randomUUID(),
  run?: TaskRun,
): QueueMessage {
  const envelope = { payload: [key, [], kwargs, -1], queueName: pythonQueueName(queue), id };
  const body = pythonJsonDumps(run ? { ...envelope, run } : envelope);
  return { id, body };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(detail: string): TaskMessageError {
  return new TaskMessageError('MalformedTask', `malformed task message: ${detail}`);
}

/** A python-task-queue task we recognise but cannot run: say what it is and what to do. */
function unrunnable(what: string, todo: string): TaskMessageError {
  return new TaskMessageError('MalformedTask', `unsupported task message: ${what}; ${todo}`);
}

/**
 * Parses a message body. `leaseId` is the id the queue leased it under, used when the envelope has
 * none (python-task-queue's SQS messages carry no id). Throws `TaskMessageError('MalformedTask')`
 * naming the first problem, never anything else, so a worker can dead-letter whatever comes back.
 */
export function decodeTask(body: string, leaseId?: string): TaskEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw malformed(`body is not JSON (${(error as Error).message}): ${preview(body)}`);
  }
  if (!isPlainObject(parsed)) throw malformed(`body is not a JSON object: ${preview(body)}`);
  const { id, queueName } = parsed;
  let payload = parsed.payload;
  if (id !== undefined && typeof id !== 'string') throw malformed(`"id" is not a string: ${JSON.stringify(id)}`);
  // python-task-queue accepts the payload as a JSON array or as a string holding one.
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      throw malformed(`"payload" is a string that is not JSON: ${preview(payload as string)}`);
    }
  }
  if (isPlainObject(payload) && typeof payload.class === 'string') {
    throw unrunnable(
      `a python-task-queue RegisteredTask (class ${payload.class})`,
      'this worker runs @queueable function tasks only: run it with a Python worker, or port it to a TypeScript task ' +
        'and insert it with keyword arguments',
    );
  }
  if (!Array.isArray(payload) || payload.length !== 4) {
    throw malformed('"payload" is not a function task [[module, name], [args], {kwargs}, id]');
  }
  const [key, args, kwargs] = payload as unknown[];
  if (!Array.isArray(key) || key.length !== 2 || typeof key[0] !== 'string' || typeof key[1] !== 'string') {
    throw malformed('payload[0] is not a [module, name] pair of strings');
  }
  if (!Array.isArray(args)) throw malformed('payload[1] (positional args) is not an array');
  if (args.length > 0) {
    throw unrunnable(
      `${formatTaskKey([key[0], key[1]])} was queued with ${args.length} positional argument(s) ` +
        `${preview(JSON.stringify(args), 60)}`,
      'TypeScript tasks take keyword arguments only: insert it with keyword arguments (in Python, partial(fn, ' +
        'name=value))',
    );
  }
  if (!isPlainObject(kwargs)) throw malformed('payload[2] (keyword args) is not an object');
  const run = runOf(parsed.run);
  return {
    id: id === undefined || id === '' ? leaseId : id,
    queueName: typeof queueName === 'string' ? queueName : '',
    key: [key[0], key[1]],
    kwargs,
    ...(run ? { run } : {}),
  };
}

/** The `run` field, when it is one of ours; anything else there is ignored, as Python ignores it. */
export function runOf(value: unknown): TaskRun | undefined {
  if (!isPlainObject(value) || typeof value.id !== 'string' || value.id === '') return undefined;
  return typeof value.row === 'number' && Number.isInteger(value.row)
    ? { id: value.id, row: value.row }
    : { id: value.id };
}

/** The run of a raw body without validating the rest (counting outcomes of any message). */
export function runOfBody(body: string): TaskRun | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return isPlainObject(parsed) ? runOf(parsed.run) : undefined;
  } catch {
    return undefined;
  }
}

function preview(text: string, max = 120): string {
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}…` : JSON.stringify(text);
}
