/**
 * What `npm run params` shows: schema, row count and the first rows as the inserter converts them.
 * Reads the whole table (to count and to check every value converts); a value that cannot be
 * converted faithfully fails the inspection with a report, like the inserter's.
 */
import type { JsonValue } from './jsonValue';
import { openTable, OpenTableOptions, TableColumn } from './readTable';
import { TableError } from './readTable';

export interface TableInspection {
  readonly file: string;
  readonly format: string;
  readonly rows: number;
  readonly columns: readonly TableColumn[];
  readonly firstRows: ReadonlyArray<{ readonly row: number; readonly values: Record<string, JsonValue> }>;
}

export interface InspectOptions extends OpenTableOptions {
  /** First rows to return (default 10). */
  readonly rows?: number;
}

const SAMPLES = 5;

export async function inspectTable(file: string, options: InspectOptions = {}): Promise<TableInspection> {
  const table = await openTable(file, options);
  const wanted = options.rows ?? 10;
  const firstRows: Array<{ row: number; values: Record<string, JsonValue> }> = [];
  const problems: string[] = [];
  let failing = 0;
  let rows = 0;
  for await (const chunk of table.rows()) {
    for (const row of chunk) {
      if (row.errors) {
        failing++;
        if (problems.length < SAMPLES) {
          const where = row.line === undefined ? `row ${row.row}` : `row ${row.row} (line ${row.line})`;
          for (const [column, message] of Object.entries(row.errors))
            problems.push(`${where}, column "${column}": ${message}`);
        }
      } else if (firstRows.length < wanted) {
        firstRows.push({ row: row.row, values: row.values });
      }
    }
    rows += chunk.length;
  }
  if (failing > 0) {
    throw new TableError(
      `${file}: ${failing.toLocaleString('en-US')} of ${rows.toLocaleString('en-US')} rows ` +
        'hold values that cannot be converted faithfully (rows numbered from 0, as pandas shows them):\n' +
        `${problems.map((p) => `  ${p}`).join('\n')}${failing > SAMPLES ? '\n  ...' : ''}\n` +
        '  fix: change these values (or the column types) in the table and write it again',
    );
  }
  return { file, format: table.formatName, rows, columns: table.columns, firstRows };
}
