/**
 * The insert pipeline's two passes over the parameter table (see lib/insert.ts): `checkRows`
 * checks and measures every row before anything is inserted; `rowsToInsert` reads the table
 * again, chunk by chunk, runs `filterTasks` on each chunk and yields the rows to insert, in table
 * order.
 */
import { UserError } from './errors';
import { MESSAGE_SIZE, PreparedRow, RowPreparer, ValidationReport } from './params/validate';
import type { ParamTable, TableRow } from './params/readTable';
import { startProgress, type ProgressOptions } from './params/progress';
import type { CloudpathRegistry } from './params/cloudpaths';
import { encodeTask, formatTaskKey } from './queue/message';
import { openStorage, type Storage } from './storage';
import { CLOUDPATH_COLUMN, type AnyTaskDefinition } from './task';

/** Stands in for the uuid4 each message gets (same length) when only measuring sizes. */
const SIZING_ID = '00000000-0000-4000-8000-000000000000';
/** Stands in for the run (same length as a real id, the row as it will be) when measuring sizes. */
const SIZING_RUN = 'r-00000000-000000-0000';

/** Runs the task's filter on one chunk, per distinct cloudpath, keeping table order. */
async function filterChunk(
  task: AnyTaskDefinition,
  rows: PreparedRow[],
  storages: Map<string, Storage>,
): Promise<PreparedRow[]> {
  const filter = task.filterTasks;
  if (!filter || rows.length === 0) return rows;
  const groups = new Map<string, PreparedRow[]>();
  for (const row of rows) {
    const group = groups.get(row.cloudpath);
    if (group) group.push(row);
    else groups.set(row.cloudpath, [row]);
  }
  const keep = new Set<PreparedRow>();
  for (const [cloudpath, group] of groups) {
    let storage = storages.get(cloudpath);
    if (!storage) storages.set(cloudpath, (storage = openStorage(cloudpath)));
    const byParams = new Map(group.map((row) => [row.params, row]));
    const kept = await filter(
      group.map((row) => row.params),
      storage,
    );
    for (const params of kept) {
      const row = byParams.get(params);
      if (!row) {
        throw new UserError(
          `filterTasks of task ${formatTaskKey(task.key)} returned a row that is not one of the rows it was given: ` +
            'it must return a subset of its `rows` argument (e.g. rows.filter(...)), not new objects',
        );
      }
      keep.add(row);
    }
  }
  return rows.filter((row) => keep.has(row));
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The table's chunks, cut after `limit` rows (`--limit`); all of them without one. */
export async function* chunksOf(table: ParamTable, chunkRows: number, limit?: number): AsyncGenerator<TableRow[]> {
  let left = limit ?? Infinity;
  for await (const chunk of table.rows(chunkRows)) {
    if (left <= 0) return;
    yield chunk.length > left ? chunk.slice(0, left) : chunk;
    left -= chunk.length;
  }
}

/** Pass one: every row checked and measured; throws the report when anything fails. */
export async function checkRows(
  table: ParamTable,
  task: AnyTaskDefinition,
  preparer: RowPreparer,
  queueName: string,
  maxBytes: number,
  chunkRows: number,
  progress: ProgressOptions | false,
  cloudpaths: CloudpathRegistry,
  limit?: number,
): Promise<number> {
  const report = new ValidationReport();
  const bar = progress === false ? undefined : startProgress('checking', undefined, progress);
  let read = 0;
  try {
    for await (const chunk of chunksOf(table, chunkRows, limit)) {
      for (const row of chunk) {
        const prepared = preparer.prepare(row);
        if (Array.isArray(prepared)) {
          report.add(row, prepared);
          continue;
        }
        const badCloudpath = cloudpaths.check(prepared.cloudpath, row.row);
        if (badCloudpath !== undefined) {
          report.add(row, [{ column: CLOUDPATH_COLUMN, message: badCloudpath }]);
          continue;
        }
        const bytes = Buffer.byteLength(
          encodeTask(task.key, prepared.kwargs, queueName, SIZING_ID, { id: SIZING_RUN, row: row.row }).body,
          'utf8',
        );
        if (bytes > maxBytes) {
          report.add(row, [
            {
              column: MESSAGE_SIZE,
              message:
                `the task message is ${bytes.toLocaleString('en-US')} bytes; a queue message holds at most ` +
                `${maxBytes.toLocaleString('en-US')} (${Math.round(maxBytes / 1024)} KiB): keep big inputs ` +
                `in files under the cloudpath and pass their names`,
            },
          ]);
        }
      }
      read += chunk.length;
      bar?.update(read);
    }
  } finally {
    bar?.stop();
  }
  const types = new Map(table.columns.map((c) => [c.name, c.arrowType]));
  report.throwIfProblems(table.file, task, read, types, table.format === 'csv');
  return read;
}

/** Pass two's rows: checked again (the file may have changed), filtered, in table order. */
export async function* rowsToInsert(
  table: ParamTable,
  task: AnyTaskDefinition,
  preparer: RowPreparer,
  chunkRows: number,
  counts: { read: number; skipped: number; lastRow: number },
  limit?: number,
): AsyncGenerator<PreparedRow> {
  const storages = new Map<string, Storage>();
  for await (const chunk of chunksOf(table, chunkRows, limit)) {
    const prepared: PreparedRow[] = [];
    for (const row of chunk) {
      const result = preparer.prepare(row);
      if (Array.isArray(result)) {
        throw new UserError(
          `${table.file} changed while inserting: row ${row.row} no longer passes the checks ` +
            `(${result[0]!.column}: ${result[0]!.message})`,
        );
      }
      prepared.push(result);
    }
    let kept: PreparedRow[];
    try {
      kept = await filterChunk(task, prepared, storages);
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(
        `filterTasks of task ${formatTaskKey(task.key)} failed on rows ` +
          `${prepared[0]!.row}–${prepared.at(-1)!.row}: ${describeError(error)}`,
        { cause: error },
      );
    }
    counts.read += chunk.length;
    counts.skipped += chunk.length - kept.length;
    for (const row of kept) {
      counts.lastRow = row.row;
      yield row;
    }
  }
}
