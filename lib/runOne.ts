/**
 * `npm run task`: one task run in this process, the way a worker runs it but without a queue:
 * the parameters come from one row of the table (checked exactly as insert checks it) or from
 * JSON, the storage is the real one at the row's cloudpath. For debugging: breakpoints work with
 * `node --inspect`, and an error arrives with its stack.
 */
import { UserError } from './errors';
import { csvKindsFor, checkColumns, RowPreparer, ValidationReport } from './params/validate';
import { openTable } from './params/readTable';
import { formatTaskKey } from './queue/message';
import { openStorage } from './storage';
import { CLOUDPATH_COLUMN, type AnyTaskDefinition, type TaskContext } from './task';

export interface OneTask {
  /** The keyword arguments as a message would carry them (cloudpath included). */
  readonly kwargs: Record<string, unknown>;
  /** The parsed parameters the function receives. */
  readonly params: unknown;
  readonly cloudpath: string;
  /** Where they came from, for the log lines. */
  readonly source: string;
}

/** Row `n` (0-based) of the table, converted and checked as `insert` would. */
export async function taskFromRow(
  file: string,
  n: number,
  task: AnyTaskDefinition,
  defaultCloudpath: string,
): Promise<OneTask> {
  const table = await openTable(file, { csvKinds: csvKindsFor(task) });
  checkColumns(table.file, table.columns, task);
  const preparer = new RowPreparer(task, table.columns, defaultCloudpath);
  let seen = 0;
  for await (const chunk of table.rows()) {
    for (const row of chunk) {
      if (row.row !== n) continue;
      const prepared = preparer.prepare(row);
      if (Array.isArray(prepared)) {
        const report = new ValidationReport();
        report.add(row, prepared);
        report.throwIfProblems(table.file, task, 1, new Map(table.columns.map((c) => [c.name, c.arrowType])), false);
        throw new Error('unreachable: a report with problems throws');
      }
      return { ...prepared, source: `row ${n} of ${table.file}` };
    }
    seen += chunk.length;
  }
  throw new UserError(`--row ${n}: ${table.file} has ${seen.toLocaleString('en-US')} rows (numbered 0 to ${seen - 1})`);
}

/** Parameters given as a JSON object, checked against the task's schema. */
export function taskFromJson(json: string, task: AnyTaskDefinition, defaultCloudpath: string): OneTask {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new UserError(`--params-json is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UserError(`--params-json must be a JSON object of parameters, e.g. {"start": 0, "count": 10}`);
  }
  const { [CLOUDPATH_COLUMN]: given, ...rest } = value as Record<string, unknown>;
  const cloudpath = typeof given === 'string' && given !== '' ? given : defaultCloudpath;
  const parsed = task.params.safeParse(rest);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i: { path: readonly PropertyKey[]; message: string }) =>
        `  ${i.path.map(String).join('.') || '(object)'}: ${i.message}`,
    );
    throw new UserError(
      `--params-json does not fit the parameters of task ${formatTaskKey(task.key)}:\n${problems.join('\n')}`,
    );
  }
  return { kwargs: { ...rest, cloudpath }, params: parsed.data, cloudpath, source: '--params-json' };
}

/** Runs the task function once, attempt 1; resolves when it returns, rejects with its error. */
export async function runOneTask(
  task: AnyTaskDefinition,
  one: OneTask,
  context: Pick<TaskContext, 'log' | 'signal'> & { readonly taskId: string },
): Promise<void> {
  await task.run(one.params, { ...context, attempt: 1, storage: openStorage(one.cloudpath) });
}
