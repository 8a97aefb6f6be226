/**
 * The insert pipeline: parameter table → checked rows → skip filter → task messages on the queue.
 *
 *   1. open the table and check its columns against the task's parameter schema;
 *   2. open the queue (not in a dry run);
 *   3. pass one: read every row, convert, validate, encode to measure the message size. Any problem
 *      ends here with one report, and nothing is inserted;
 *   4. pass two: read again, chunk by chunk: `filterTasks` drops finished rows, the rest are encoded
 *      and inserted in table order.
 * Both passes stream record batches, so memory stays bounded on any table size.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UserError } from './errors';
import type { TaskSettings } from './settings';
import { csvKindsFor, checkColumns, MESSAGE_SIZE, PreparedRow, RowPreparer, ValidationReport } from './params/validate';
import { DEFAULT_CHUNK_ROWS, openTable, ParamTable } from './params/readTable';
import { startProgress, ProgressOptions } from './params/progress';
import { CloudpathRegistry } from './params/cloudpaths';
import { writeExampleParams, EXAMPLE_ROWS } from './params/exampleTable';
import { createQueue, openQueue, parseQueueUrl, type Queue } from './queue';
import { encodeTask, formatTaskKey } from './queue/message';
import { openStorage, type Storage } from './storage';
import { CLOUDPATH_COLUMN, type AnyTaskDefinition } from './task';
import { hashFile, newRunId, type RunRecord } from './runs/record';
import { RunStore } from './runs/store';
import { codeVersion } from './runs/codeVersion';
import { checkReinsert, describeRun } from './runs/reinsert';
import type { TableRow } from './params/readTable';

/** SQS's default maximum message size; enforced for file queues too, so local runs catch it early. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** Stands in for the uuid4 each message gets (same length) when only measuring sizes. */
const SIZING_ID = '00000000-0000-4000-8000-000000000000';
/** Stands in for the run (same length as a real id, the row as it will be) when measuring sizes. */
const SIZING_RUN = 'r-00000000-000000-0000';

/** The default task's key for the example table (`tasks/example.ts`). */
const EXAMPLE_TASK = 'tasks.example.count_primes';

export interface InsertTableOptions {
  readonly settings: TaskSettings;
  /** The task to insert for (the CLI picks it from `tasks/index.ts` with `findTask`). */
  readonly task: AnyTaskDefinition;
  /** Check and filter, print what would be inserted; never touch the queue. */
  readonly dryRun?: boolean;
  /** How many tasks a dry run returns for display (default 5). */
  readonly showTasks?: number;
  /** Rows per chunk handed to filterTasks (default 2000). */
  readonly chunkRows?: number;
  readonly maxMessageBytes?: number;
  /** Passed to `queue.insert` (default: the backend's). */
  readonly concurrency?: number;
  /** Progress display; `false` for none. */
  readonly progress?: ProgressOptions | false;
  /** Notes for the user (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** Check and insert only the first N rows (a smoke test). */
  readonly limit?: number;
  /** Insert even when this table's run still has tasks on the queue. */
  readonly again?: boolean;
}

export interface InsertSummary {
  readonly file: string;
  readonly format: string;
  readonly task: string;
  /** The queue URL (a dry run: as configured). */
  readonly queue: string;
  readonly dryRun: boolean;
  /** Rows in the table. */
  readonly read: number;
  /** Rows `filterTasks` removed (work already done). */
  readonly skipped: number;
  /** Tasks inserted (a dry run: that would be inserted). */
  readonly inserted: number;
  /** Whole run, checks included. */
  readonly seconds: number;
  readonly checkSeconds: number;
  readonly insertSeconds: number;
  /** inserted / seconds. */
  readonly tasksPerSecond: number;
  /** A dry run's first task messages' keyword arguments. */
  readonly firstTasks?: ReadonlyArray<Record<string, unknown>>;
  /** The run this insert recorded; `null` for a dry run and when nothing was inserted. */
  readonly run: RunRecord | null;
  /**
   * Set when nothing was inserted because this table's run still has tasks on the queue (no
   * `again`): that run's id and a line describing it.
   */
  readonly alreadyQueued?: { readonly run: string; readonly description: string };
}

/**
 * The task `--task module.name` names in `registry`, or its first one. The CLIs pass `tasks/index.ts`'s
 * list: this library does not import its callers' tasks.
 */
export function findTask(name: string | undefined, registry: readonly AnyTaskDefinition[]): AnyTaskDefinition {
  const names = registry.map((t) => formatTaskKey(t.key));
  if (registry.length === 0) throw new UserError('tasks/index.ts lists no tasks: add yours to its `tasks` array');
  if (name === undefined) return registry[0]!;
  const found = registry.find((t) => formatTaskKey(t.key) === name);
  if (!found)
    throw new UserError(`no task ${JSON.stringify(name)} in tasks/index.ts; the tasks are: ${names.join(', ')}`);
  return found;
}

/**
 * A fresh clone has no table yet: when the table is the shipped default and the task the example
 * one, write the example table; otherwise the reader's "does not exist" error says what to do.
 */
export async function ensureExampleTable(
  settings: TaskSettings,
  task: AnyTaskDefinition,
  log: (line: string) => void,
): Promise<void> {
  const source = settings.sources.paramsFile;
  const isDefault = source === 'shipped-default' || source === 'built-in-default';
  if (existsSync(settings.paramsFile) || !isDefault || formatTaskKey(task.key) !== EXAMPLE_TASK) return;
  await writeExampleParams(settings.paramsFile);
  log(
    `created ${settings.paramsFile}: the example table (${EXAMPLE_ROWS} rows; npm run example:params writes it again)`,
  );
}

/**
 * The queue name a dry run sizes messages with (the queue is not opened): exact for file queues and
 * SQS https URLs; for `sqs://NAME` the real https URL is ~50 bytes longer, which the real run's
 * check, made before anything is inserted, accounts for.
 */
function plannedQueueName(url: string): string {
  const location = parseQueueUrl(url);
  if (location.kind === 'pubsub') return location.url;
  return location.kind === 'fq' ? `fq://${location.root}` : (location.queueUrl ?? url);
}

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

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The table's chunks, cut after `limit` rows (`--limit`); all of them without one. */
async function* chunksOf(table: ParamTable, chunkRows: number, limit?: number): AsyncGenerator<TableRow[]> {
  let left = limit ?? Infinity;
  for await (const chunk of table.rows(chunkRows)) {
    if (left <= 0) return;
    yield chunk.length > left ? chunk.slice(0, left) : chunk;
    left -= chunk.length;
  }
}

/** Pass one: every row checked and measured; throws the report when anything fails. */
async function checkRows(
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
              message: `the task message is ${bytes.toLocaleString('en-US')} bytes; a queue message holds at most ${maxBytes.toLocaleString('en-US')} (${Math.round(maxBytes / 1024)} KiB): keep big inputs in files under the cloudpath and pass their names`,
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
async function* rowsToInsert(
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
          `${table.file} changed while inserting: row ${row.row} no longer passes the checks (${result[0]!.column}: ${result[0]!.message})`,
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
        `filterTasks of task ${formatTaskKey(task.key)} failed on rows ${prepared[0]!.row}–${prepared.at(-1)!.row}: ${describeError(error)}`,
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

/** An error before the first task reached the queue: say so, and that there is nothing to purge. */
function nothingInserted(error: unknown): UserError {
  const message = describeError(error);
  return new UserError(/nothing was inserted/.test(message) ? message : `nothing was inserted: ${message}`, {
    cause: error,
  });
}

function interrupted(
  error: unknown,
  inserted: number,
  total: number,
  counts: { lastRow: number },
  queue: string,
): UserError {
  return new UserError(
    [
      `inserting stopped after ${inserted.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} rows were handled: ${describeError(error)}`,
      `  ${inserted.toLocaleString('en-US')} tasks are on ${queue}, from the start of the table (rows were sent in table order; the last row read was row ${counts.lastRow}).`,
      '  Running insert again queues every row again except those filterTasks skips (rows whose work is finished):',
      '  tasks already queued but not yet finished would then be queued twice.',
      '  fix: either `npm run purge` and insert again, or keep the queued tasks and let them run before re-inserting',
      '  (once they finish, filterTasks skips them).',
    ].join('\n'),
    { cause: error },
  );
}

/** Inserts one task per table row (see the module comment); resolves with the summary. */
export async function insertTable(options: InsertTableOptions): Promise<InsertSummary> {
  const started = Date.now();
  const { settings } = options;
  const { task } = options;
  const log = options.log ?? (() => undefined);
  const progress = options.progress ?? {};
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  const maxBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  const taskName = formatTaskKey(task.key);

  await ensureExampleTable(settings, task, log);
  const table = await openTable(settings.paramsFile, { csvKinds: csvKindsFor(task) });
  checkColumns(table.file, table.columns, task);
  const preparer = new RowPreparer(task, table.columns, settings.cloudpath);

  let queue: Queue | undefined;
  try {
    queue = options.dryRun ? undefined : await openQueue(settings.queueUrl);
  } catch (error) {
    throw nothingInserted(error);
  }
  try {
    const queueName = queue?.url ?? plannedQueueName(settings.queueUrl);
    const limit = options.limit;
    const summaryBase = {
      file: table.file,
      format: table.formatName,
      task: taskName,
      queue: queueName,
      dryRun: Boolean(options.dryRun),
    };
    const fingerprint = queue ? await hashFile(table.file) : undefined;
    const store = queue ? RunStore.open(queue.url, settings.cloudpath) : undefined;
    if (queue && store && fingerprint) {
      const check = await checkReinsert({
        store,
        queue,
        task: taskName,
        sha256: fingerprint.sha256,
        limit: limit ?? null,
        again: Boolean(options.again),
      }).catch((error: unknown) => {
        throw nothingInserted(error);
      });
      if (check.alreadyQueued) {
        const seconds = (Date.now() - started) / 1000;
        const zero = { read: 0, skipped: 0, inserted: 0, checkSeconds: seconds, insertSeconds: 0, tasksPerSecond: 0 };
        const description = describeRun(check.alreadyQueued);
        return {
          ...summaryBase,
          ...zero,
          seconds,
          run: null,
          alreadyQueued: { run: check.alreadyQueued.id, description },
        };
      }
      for (const note of check.notes) log(note);
    }
    log(`checking ${path.relative('.', table.file) || table.file} (${table.formatName}) against task ${taskName}`);
    const cloudpaths = new CloudpathRegistry();
    const rows = await checkRows(table, task, preparer, queueName, maxBytes, chunkRows, progress, cloudpaths, limit);
    log(
      `checking that ${cloudpaths.size.toLocaleString('en-US')} distinct cloudpath${cloudpaths.size === 1 ? ' is' : 's are'} writable`,
    );
    await cloudpaths.probe(table.file);
    const checked = Date.now();

    let record: RunRecord | null = null;
    if (queue && store && fingerprint) {
      // A file queue's run store lives in its folder: make the queue first, so a path that cannot
      // hold one is reported as the queue's problem.
      if (queue.kind === 'fq') {
        await createQueue(queue.url).catch((error: unknown) => {
          throw nothingInserted(error);
        });
      }
      record = {
        id: newRunId(),
        task: taskName,
        table: { path: path.resolve(table.file), sha256: fingerprint.sha256, bytes: fingerprint.bytes, rows },
        limit: limit ?? null,
        inserted: null,
        skipped: null,
        state: 'inserting',
        codeVersion: codeVersion(),
        createdAt: new Date().toISOString(),
        insertedAt: null,
        queue: queue.url,
        cloudpath: settings.cloudpath,
      };
      await store.writeRun(record).catch((error: unknown) => {
        throw nothingInserted(new Error(`cannot write the run record to ${store.url}: ${describeError(error)}`));
      });
    }
    const counts = { read: 0, skipped: 0, lastRow: -1 };
    const firstTasks: Array<Record<string, unknown>> = [];
    let inserted = 0;
    const bar =
      progress === false ? undefined : startProgress(options.dryRun ? 'filtering' : 'inserting', rows, progress);
    const show = () => bar?.update(inserted + counts.skipped, `${counts.skipped.toLocaleString('en-US')} skipped`);
    try {
      if (!queue) {
        for await (const row of rowsToInsert(table, task, preparer, chunkRows, counts, limit)) {
          if (firstTasks.length < (options.showTasks ?? 5)) firstTasks.push(row.kwargs);
          inserted++;
          if (inserted % chunkRows === 0) show();
        }
      } else {
        const prepared = rowsToInsert(table, task, preparer, chunkRows, counts, limit);
        let handedOver = 0; // bodies given to the queue: until then, nothing can be on it
        const runId = record?.id;
        const bodies = (async function* () {
          for await (const row of prepared) {
            handedOver++;
            yield encodeTask(
              task.key,
              row.kwargs,
              queue.url,
              undefined,
              runId ? { id: runId, row: row.row } : undefined,
            );
          }
        })();
        try {
          await queue.insert(bodies, {
            concurrency: options.concurrency,
            onProgress: (stored) => {
              inserted += stored;
              show();
            },
          });
        } catch (error) {
          if (record && store) {
            const state = handedOver === 0 ? 'inserted' : 'interrupted';
            const at = new Date().toISOString();
            const ended = { ...record, inserted, skipped: counts.skipped, state, insertedAt: at } as const;
            await store.writeRun(ended).catch(() => undefined);
          }
          throw handedOver === 0 ? nothingInserted(error) : interrupted(error, inserted, rows, counts, queue.url);
        }
      }
      show();
    } finally {
      bar?.stop();
    }
    if (counts.read !== rows) {
      throw new UserError(
        `${table.file} changed while inserting: it had ${rows} rows when checked and ${counts.read} when inserted; ${inserted} tasks were inserted`,
      );
    }
    const finished = Date.now();
    const seconds = (finished - started) / 1000;
    if (record && store) {
      const at = new Date(finished).toISOString();
      record = { ...record, inserted, skipped: counts.skipped, state: 'inserted', insertedAt: at };
      await store.writeRun(record);
    }
    return {
      ...summaryBase,
      run: record,
      read: rows,
      skipped: counts.skipped,
      inserted,
      seconds,
      checkSeconds: (checked - started) / 1000,
      insertSeconds: (finished - checked) / 1000,
      tasksPerSecond: seconds > 0 ? inserted / seconds : 0,
      ...(options.dryRun ? { firstTasks } : {}),
    };
  } finally {
    await queue?.close();
  }
}
