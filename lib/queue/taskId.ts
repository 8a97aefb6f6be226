/** The ids a task may be inserted under, shared by both backends. */
import { QueueError } from './errors';

/**
 * python-task-queue splits file names on `--` and strips the extension with `splitext`, so an id
 * has no `--`, no dots, no path characters and no edge dashes; 128 characters at most.
 */
const SAFE_ID = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,126}[A-Za-z0-9_])?$/;

export function isSafeTaskId(id: unknown): id is string {
  return typeof id === 'string' && SAFE_ID.test(id) && !id.includes('--');
}

/** Throws an InvalidMessage QueueError naming the task's position when its id is unusable. */
export function checkTaskId(id: unknown, position: number, queue: string): asserts id is string {
  if (isSafeTaskId(id)) return;
  throw new QueueError(
    'InvalidMessage',
    `task #${position} has the id ${JSON.stringify(id)}, which ${queue} cannot store`,
    'task ids are 1–128 letters, digits, _ and single inner - (no --): use encodeTask(), which makes a uuid4',
  );
}
