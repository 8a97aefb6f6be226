/**
 * The task message format, identical to python-task-queue's function tasks (`@queueable`):
 *
 *   body    = {"payload": P, "queueName": "<queue>", "id": "<uuid>"}
 *   payload = [[module, name], [args...], {kwargs...}, id]      (id is -1 on insert)
 *
 * Our tasks are called with keyword arguments only (one per parameter-table column), so `args` is
 * always `[]` when we insert; a message with positional args is rejected as malformed, since a
 * TypeScript task has no positional parameter order to map them onto.
 */
import { randomUUID } from 'node:crypto';
import { TaskMessageError } from './errors';

/** The `[module, name]` key a task function is registered under (python-task-queue's REGISTRY key). */
export type TaskKey = readonly [module: string, name: string];

export interface TaskEnvelope {
  readonly id: string;
  readonly queueName: string;
  readonly key: TaskKey;
  readonly kwargs: Record<string, unknown>;
}

export function formatTaskKey(key: TaskKey): string {
  return `${key[0]}.${key[1]}`;
}

/** Builds a message body for one task. `id` defaults to a fresh uuid4 (never contains `--`). */
export function encodeTask(
  key: TaskKey,
  kwargs: Record<string, unknown>,
  queueName: string,
  id: string = randomUUID(),
): string {
  return JSON.stringify({ payload: [key, [], kwargs, -1], queueName, id });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(detail: string): TaskMessageError {
  return new TaskMessageError('MalformedTask', `malformed task message: ${detail}`);
}

/**
 * Parses a message body. Throws `TaskMessageError('MalformedTask')` naming the first problem;
 * never anything else, so a worker can dead-letter whatever comes back from the queue.
 */
export function decodeTask(body: string): TaskEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw malformed(`body is not JSON (${(error as Error).message}): ${preview(body)}`);
  }
  if (!isPlainObject(parsed)) throw malformed(`body is not a JSON object: ${preview(body)}`);
  const { id, queueName } = parsed;
  let payload = parsed.payload;
  if (typeof id !== 'string' || id === '') throw malformed('"id" is missing or not a string');
  // python-task-queue accepts the payload as a JSON array or as a string holding one.
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      throw malformed(`"payload" is a string that is not JSON: ${preview(payload as string)}`);
    }
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
    throw malformed(`payload has ${args.length} positional argument(s); tasks here take keyword arguments only`);
  }
  if (!isPlainObject(kwargs)) throw malformed('payload[2] (keyword args) is not an object');
  return {
    id,
    queueName: typeof queueName === 'string' ? queueName : '',
    key: [key[0], key[1]],
    kwargs,
  };
}

function preview(text: string, max = 120): string {
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}…` : JSON.stringify(text);
}
