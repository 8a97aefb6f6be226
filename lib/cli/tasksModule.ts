/**
 * `--tasks MODULE` for the commands that pick a task (insert, task, params, npm start): the task
 * list from another module than tasks/index.ts, e.g. a test's fixtures or a second project's.
 */
import path from 'node:path';
import { UserError } from '../errors';
import type { AnyTaskDefinition } from '../task';

/** The `tasks` array the module at `file` exports; a clear error when there is none. */
export function loadTasksModule(file: string): readonly AnyTaskDefinition[] {
  const resolved = path.resolve(file);
  let loaded: unknown;
  try {
    // A path chosen on the command line cannot be a static import; the value is checked below.
    loaded = require(resolved);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    const detail = missing ? `no such module (${resolved})` : `loading it failed: ${(error as Error).message}`;
    throw new UserError(`--tasks ${file}: ${detail}; pass the file that exports your task list, e.g. tasks/index.ts`);
  }
  const tasks = typeof loaded === 'object' && loaded !== null ? (loaded as { tasks?: unknown }).tasks : undefined;
  if (!Array.isArray(tasks)) {
    throw new UserError(
      `--tasks ${file}: the module does not export a tasks array; add export const tasks = [yourTask]`,
    );
  }
  return tasks as AnyTaskDefinition[];
}
