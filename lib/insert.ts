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
import { csvKindsFor, checkColumns, RowPreparer } from './params/validate';
import { DEFAULT_CHUNK_ROWS, openTable } from './params/readTable';
import { startProgress, ProgressOptions } from './params/progress';
import { CloudpathRegistry } from './params/cloudpaths';
import { writeExampleParams, EXAMPLE_ROWS } from './params/exampleTable';
import { openQueue, parseQueueUrl, type Queue } from './queue';
import { encodeTask, formatTaskKey } from './queue/message';
import type { AnyTaskDefinition } from './task';
import type { RunRecord } from './runs/record';
import { InsertRecord } from './runs/insertRecord';
import { checkRows, describeError, rowsToInsert } from './insertRows';

/** SQS's default maximum message size; enforced for file queues too, so local runs catch it early. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

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
      `inserting stopped after ${inserted.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} ` +
        `rows were handled: ${describeError(error)}`,
      `  ${inserted.toLocaleString('en-US')} tasks are on ${queue}, from the start of the table (rows ` +
        `were sent in table order; the last row read was row ${counts.lastRow}).`,
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
    const run = queue
      ? await InsertRecord.open({
          queue,
          cloudpath: settings.cloudpath,
          tableFile: table.file,
          task: taskName,
          limit: limit ?? null,
        })
      : undefined;
    if (run) {
      const check = await run.check(Boolean(options.again)).catch((error: unknown) => {
        throw nothingInserted(error);
      });
      if (check.alreadyQueued) {
        const seconds = (Date.now() - started) / 1000;
        const zero = { read: 0, skipped: 0, inserted: 0, checkSeconds: seconds, insertSeconds: 0, tasksPerSecond: 0 };
        return { ...summaryBase, ...zero, seconds, run: null, alreadyQueued: check.alreadyQueued };
      }
      for (const note of check.notes) log(note);
    }
    log(`checking ${path.relative('.', table.file) || table.file} (${table.formatName}) against task ${taskName}`);
    const cloudpaths = new CloudpathRegistry();
    const rows = await checkRows(table, task, preparer, queueName, maxBytes, chunkRows, progress, cloudpaths, limit);
    const distinct = cloudpaths.size;
    log(
      `checking that ${distinct.toLocaleString('en-US')} distinct cloudpath` +
        `${distinct === 1 ? ' is' : 's are'} writable`,
    );
    await cloudpaths.probe(table.file);
    const checked = Date.now();

    let record: RunRecord | null = null;
    if (run) {
      record = await run.begin(rows).catch((error: unknown) => {
        throw nothingInserted(error);
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
          const state = handedOver === 0 ? 'inserted' : 'interrupted';
          await run?.end(state, { inserted, skipped: counts.skipped }).catch(() => undefined);
          throw handedOver === 0 ? nothingInserted(error) : interrupted(error, inserted, rows, counts, queue.url);
        }
      }
      show();
    } finally {
      bar?.stop();
    }
    if (counts.read !== rows) {
      throw new UserError(
        `${table.file} changed while inserting: it had ${rows} rows when checked and ${counts.read} when ` +
          `inserted; ${inserted} tasks were inserted`,
      );
    }
    const finished = Date.now();
    const seconds = (finished - started) / 1000;
    if (run) record = await run.end('inserted', { inserted, skipped: counts.skipped }, new Date(finished));
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
