/**
 * Checks a parameter table against a task's parameter schema (its zod object), before anything is
 * inserted: first the columns (missing, unexpected), then every row (types, missing values, ranges).
 * Problems are collected into one report: per column, how many rows fail and the first few of them.
 */
import { z } from 'zod';
import { UserError } from '../errors';
import { formatTaskKey } from '../queue/message';
import { AnyTaskDefinition, CLOUDPATH_COLUMN } from '../task';
import type { JsonValue } from './jsonValue';
import { CsvKind, ROW_PROBLEM, RowPlace, TableColumn, TableRow } from './readTable';
import { envName } from '../settings/table';

/** The pseudo-column that messages over the queue's size limit are reported under. */
export const MESSAGE_SIZE = '(message size)';

/** What a missing value (null, NaN, empty CSV cell) becomes for one parameter. */
type NullPolicy = 'keep' | 'omit' | 'reject';

export interface ParamRule {
  readonly name: string;
  /** The table must have the column (the schema neither makes it optional nor gives a default). */
  readonly required: boolean;
  /** keep: the schema accepts null; omit: drop the key so the default applies; reject: an error. */
  readonly onNull: NullPolicy;
  /** How a CSV cell of this column is typed. */
  readonly csvKind: CsvKind;
}

/** The schema node under wrappers (optional, default, nullable, pipe input, ...): what the value must be. */
function baseType(schema: z.ZodType): string {
  let node: z.ZodType = schema;
  for (let depth = 0; depth < 20; depth++) {
    // zod 4 exposes its definition as `def`; wrappers keep the wrapped schema in `innerType`, pipes in `in`.
    const def = node.def as unknown as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (def.innerType) node = def.innerType;
    else if (def.type === 'pipe' && def.in) node = def.in;
    else return def.type;
  }
  return 'unknown';
}

/** One rule per key of the task's parameter schema, in declaration order. */
export function paramRules(task: AnyTaskDefinition): ParamRule[] {
  return Object.entries(task.params.shape).map(([name, field]) => {
    const schema = field as z.ZodType;
    const acceptsUndefined = schema.safeParse(undefined).success;
    const type = baseType(schema);
    return {
      name,
      required: !acceptsUndefined,
      onNull: schema.safeParse(null).success ? 'keep' : acceptsUndefined ? 'omit' : 'reject',
      csvKind: type === 'number' || type === 'int' ? 'number' : type === 'boolean' ? 'boolean' : 'string',
    };
  });
}

export function csvKindsFor(task: AnyTaskDefinition): Record<string, CsvKind> {
  return Object.fromEntries(paramRules(task).map((rule) => [rule.name, rule.csvKind]));
}

/** A table that fails the task's checks: the message is the whole report. Nothing was inserted. */
export class ValidationError extends UserError {
  constructor(
    message: string,
    readonly problemRows: number,
  ) {
    super(message);
  }
}

/** Column-level check: throws a `ValidationError` listing missing and unexpected columns. */
export function checkColumns(file: string, columns: readonly TableColumn[], task: AnyTaskDefinition): void {
  const rules = paramRules(task);
  const known = new Set(rules.map((r) => r.name));
  const present = new Set(columns.map((c) => c.name));
  const missing = rules.filter((r) => r.required && !present.has(r.name)).map((r) => r.name);
  const extra = columns.map((c) => c.name).filter((name) => !known.has(name) && name !== CLOUDPATH_COLUMN);
  if (missing.length === 0 && extra.length === 0) return;

  const taskName = formatTaskKey(task.key);
  const takes = rules.map((r) => (r.required ? r.name : `${r.name} (optional)`)).join(', ');
  const lines = [`${file}: the columns do not match the parameters of task ${taskName}; nothing was inserted.`];
  if (missing.length > 0)
    lines.push(`  missing column${missing.length > 1 ? 's' : ''}: ${missing.map((n) => JSON.stringify(n)).join(', ')}`);
  if (extra.length > 0)
    lines.push(`  unexpected column${extra.length > 1 ? 's' : ''}: ${extra.map((n) => JSON.stringify(n)).join(', ')}`);
  lines.push(
    `  task ${taskName} takes: ${takes} (and "${CLOUDPATH_COLUMN}", added from ${envName('cloudpath')} when absent)`,
  );
  // pandas leaves its index behind under these names when a table is written with it
  if (extra.some((name) => name.startsWith('__index_level_')))
    lines.push('  "__index_level_N__" is a pandas index: write the table after df = df.reset_index(drop=True)');
  if (extra.some((name) => /^Unnamed: \d+$/.test(name)))
    lines.push('  "Unnamed: N" is a pandas index saved to CSV: write it with df.to_csv(path, index=False)');
  lines.push(
    `  fix: ${extra.length > 0 ? `drop the extra columns (df.drop(columns=[${quotedNames(extra)}])) ` : ''}` +
      `${extra.length > 0 ? "or add them to the task's params; " : ''}` +
      `${missing.length > 0 ? 'add the missing columns to the table; ' : ''}or pick another task with --task ` +
      `module.name`,
  );
  throw new ValidationError(lines.join('\n'), 0);
}

/** A row ready to insert: what the message carries, and the schema's parsed value for filterTasks. */
export interface PreparedRow extends RowPlace {
  /** The keyword arguments of the task message: the row's values plus `cloudpath`. */
  readonly kwargs: Record<string, JsonValue>;
  /** The task schema's output for the row (defaults applied), as `filterTasks` and the task see it. */
  readonly params: unknown;
  /** The row's output location (its `cloudpath` column, else the `cloudpath` setting). */
  readonly cloudpath: string;
}

export interface RowProblem {
  readonly column: string;
  readonly message: string;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function columnOf(issuePath: readonly PropertyKey[]): { column: string; detail: string } {
  if (issuePath.length === 0) return { column: ROW_PROBLEM, detail: '' };
  const detail = issuePath
    .slice(1)
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('');
  return { column: String(issuePath[0]), detail };
}

/** Turns table rows into task keyword arguments, checking each against the task's schema. */
export class RowPreparer {
  private readonly rules: ParamRule[];
  private readonly hasCloudpathColumn: boolean;

  constructor(
    private readonly task: AnyTaskDefinition,
    columns: readonly TableColumn[],
    /** The `cloudpath` setting: the `cloudpath` of rows when the table has no such column. */
    private readonly defaultCloudpath: string,
  ) {
    const present = new Set(columns.map((c) => c.name));
    this.rules = paramRules(task).filter((rule) => present.has(rule.name));
    this.hasCloudpathColumn = present.has(CLOUDPATH_COLUMN);
  }

  prepare(row: TableRow): PreparedRow | RowProblem[] {
    if (row.errors) return this.problemsOf(row);
    // The common case, allocation-light: no problem found yet, nothing to collect.
    const input: Record<string, JsonValue> = {};
    for (const rule of this.rules) {
      const value = row.values[rule.name] ?? null;
      if (value !== null || rule.onNull === 'keep') input[rule.name] = value;
      else if (rule.onNull === 'reject') return this.problemsOf(row);
    }
    let cloudpath = this.defaultCloudpath;
    if (this.hasCloudpathColumn) {
      const value = row.values[CLOUDPATH_COLUMN];
      if (typeof value !== 'string' || value.trim() === '') return this.problemsOf(row);
      cloudpath = value;
    }
    const parsed = this.task.params.safeParse(input);
    if (!parsed.success) return this.problemsOf(row);
    // zod's output is a new object, so `input` can become the message's kwargs
    input[CLOUDPATH_COLUMN] = cloudpath;
    return { row: row.row, line: row.line, kwargs: input, params: parsed.data, cloudpath };
  }

  /** Every problem of a row that failed, per column (the slow path, taken only for bad rows). */
  private problemsOf(row: TableRow): RowProblem[] {
    // a row that is wrong as a whole (a CSV line with too few values) has nothing more worth saying
    const whole = row.errors?.[ROW_PROBLEM];
    if (whole !== undefined) return [{ column: ROW_PROBLEM, message: whole }];
    const problems: RowProblem[] = [];
    const failed = new Set<string>();
    for (const [column, message] of Object.entries(row.errors ?? {})) {
      problems.push({ column, message });
      failed.add(column);
    }
    const input: Record<string, JsonValue> = {};
    for (const rule of this.rules) {
      if (failed.has(rule.name)) continue;
      const value = row.values[rule.name] ?? null;
      if (value !== null || rule.onNull === 'keep') input[rule.name] = value;
      else if (rule.onNull === 'reject') {
        problems.push({ column: rule.name, message: 'missing value (null, NaN or empty) in a required column' });
        failed.add(rule.name);
      }
    }
    if (this.hasCloudpathColumn && !failed.has(CLOUDPATH_COLUMN)) {
      const value = row.values[CLOUDPATH_COLUMN];
      if (typeof value !== 'string' || value.trim() === '') {
        problems.push({
          column: CLOUDPATH_COLUMN,
          message: `${preview(value)} is not a cloudpath (a non-empty string like gs://bucket/prefix)`,
        });
      }
    }
    const parsed = this.task.params.safeParse(input);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const { column, detail } = columnOf(issue.path);
        if (failed.has(column)) continue;
        const value = column === ROW_PROBLEM ? undefined : input[column];
        const shown =
          column === ROW_PROBLEM || value === undefined ? '' : `${preview(value)}${detail ? ` at ${detail}` : ''}: `;
        problems.push({ column, message: `${shown}${issue.message}` });
      }
    }
    return problems;
  }
}

interface ColumnProblems {
  count: number;
  readonly samples: string[];
}

function placeText(place: RowPlace): string {
  return place.line === undefined ? `row ${place.row}` : `row ${place.row} (line ${place.line})`;
}

/** Collects problems per column, keeping the first few rows of each, and formats the report. */
export class ValidationReport {
  private readonly byColumn = new Map<string, ColumnProblems>();
  private rows = 0;

  constructor(private readonly samplesPerColumn = 5) {}

  get problemRows(): number {
    return this.rows;
  }

  add(place: RowPlace, problems: readonly RowProblem[]): void {
    if (problems.length === 0) return;
    this.rows++;
    for (const { column, message } of problems) {
      let entry = this.byColumn.get(column);
      if (!entry) this.byColumn.set(column, (entry = { count: 0, samples: [] }));
      entry.count++;
      if (entry.samples.length < this.samplesPerColumn) entry.samples.push(`${placeText(place)}: ${message}`);
    }
  }

  /** Throws the report as a `ValidationError` when any row failed. */
  throwIfProblems(
    file: string,
    task: AnyTaskDefinition,
    rowsRead: number,
    columnTypes: ReadonlyMap<string, string>,
    csv: boolean,
  ): void {
    if (this.rows === 0) return;
    const lines = [
      `${file}: ${this.rows.toLocaleString('en-US')} of ${rowsRead.toLocaleString('en-US')} rows fail the checks of ` +
        `task ${formatTaskKey(task.key)}; nothing was inserted.`,
      `  Rows are numbered from 0, as pandas shows ` +
        `them${csv ? ' (the header line is not a row; lines count from 1)' : ''}.`,
    ];
    for (const [column, { count, samples }] of this.byColumn) {
      const type = columnTypes.get(column);
      const label =
        column === ROW_PROBLEM
          ? 'whole rows'
          : column === MESSAGE_SIZE
            ? 'message size'
            : `column "${column}"${type ? ` (${type})` : ''}`;
      lines.push(
        `  ${label}: ${count.toLocaleString('en-US')} row${count === 1 ? '' : 's'}` +
          (count > samples.length ? `, the first ${samples.length}:` : ':'),
      );
      for (const sample of samples) lines.push(`    ${sample}`);
    }
    lines.push(
      `  fix: correct these rows in the table (or the parameter schema of the task in tasks/) and insert again`,
    );
    throw new ValidationError(lines.join('\n'), this.rows);
  }
}

function quotedNames(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}
