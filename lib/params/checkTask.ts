/**
 * `npm run params` against a task: the checks `insert` makes before inserting anything (columns,
 * then every row: types, nulls, schema), without a queue and without touching the outputs, so
 * the mismatches show before an insert is tried. Message sizes and the cloudpaths' write access
 * are insert's alone (they need the queue's name and a probe write).
 */
import { UserError } from '../errors';
import { formatTaskKey } from '../queue/message';
import type { AnyTaskDefinition } from '../task';
import { openTable } from './readTable';
import { checkColumns, csvKindsFor, RowPreparer, ValidationReport } from './validate';

export interface TaskCheck {
  readonly task: string;
  /** True when insert would accept every row. */
  readonly ok: boolean;
  readonly rows: number;
  /** The report insert would print; `null` when ok. */
  readonly problems: string | null;
}

export async function checkTableAgainstTask(
  file: string,
  task: AnyTaskDefinition,
  defaultCloudpath: string,
): Promise<TaskCheck> {
  const name = formatTaskKey(task.key);
  const table = await openTable(file, { csvKinds: csvKindsFor(task) });
  let rows = 0;
  try {
    checkColumns(table.file, table.columns, task);
    const preparer = new RowPreparer(task, table.columns, defaultCloudpath);
    const report = new ValidationReport();
    for await (const chunk of table.rows()) {
      for (const row of chunk) {
        const prepared = preparer.prepare(row);
        if (Array.isArray(prepared)) report.add(row, prepared);
      }
      rows += chunk.length;
    }
    const types = new Map(table.columns.map((c) => [c.name, c.arrowType]));
    report.throwIfProblems(table.file, task, rows, types, table.format === 'csv');
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { task: name, ok: false, rows, problems: error.message };
  }
  return { task: name, ok: true, rows, problems: null };
}
