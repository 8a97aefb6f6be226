/**
 * Failure triage: dead letters grouped by their error, filtered by `--error REGEX` and `--run ID`
 * (shared by `failures` and `requeue`), and the command that shows a task's logs.
 *
 * Two failures are in one group when their reason and first message line match once numbers,
 * ids and quoted text are blanked out: "row 3 failed" and "row 7 failed" are one error.
 */
import { hostname } from 'node:os';
import { UserError } from '../errors';
import { cutCell, errorSummary, MAX_CELL_CHARS, printable, type FailureRow } from './failures';
import { alignColumns, formatCount, truncate } from './units';

export interface FailureFilter {
  /** Matched against `REASON: message` (the whole message, every line). */
  readonly error?: RegExp;
  readonly run?: string;
}

/** `--error` as a RegExp, or a clear error naming the bad pattern. */
export function parseErrorPattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'i');
  } catch (error) {
    throw new UserError(`--error ${JSON.stringify(pattern)} is not a regular expression: ${(error as Error).message}`);
  }
}

export function errorText(row: FailureRow): string {
  if (row.message === null) return row.malformed ?? 'no failure record (moved by SQS redrive)';
  return `${row.reason ?? 'Error'}: ${row.message}`;
}

export function matchesFilter(row: FailureRow, filter: FailureFilter): boolean {
  if (filter.run !== undefined && row.run !== filter.run) return false;
  return filter.error ? filter.error.test(errorText(row)) : true;
}

/** The error with its variable parts blanked: the key failures are grouped by. */
export function errorSignature(row: FailureRow): string {
  const first = errorText(row).split('\n', 1)[0]!.trim();
  return first
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<id>')
    .replace(/"[^"]*"|'[^']*'/g, '"…"')
    .replace(/\b0x[0-9a-f]+\b/gi, '<n>')
    .replace(/-?\d+(?:\.\d+)?/g, '<n>');
}

export interface FailureGroup {
  readonly signature: string;
  readonly count: number;
  readonly firstAt: string | null;
  readonly lastAt: string | null;
  /** The earliest failure of the group. */
  readonly example: FailureRow;
  readonly runs: readonly string[];
  readonly codeVersions: readonly string[];
  readonly ids: readonly string[];
}

/** Groups, the largest first (ties: the earliest first). */
export function groupFailures(rows: readonly FailureRow[]): FailureGroup[] {
  const bySignature = new Map<string, FailureRow[]>();
  for (const row of rows) {
    const key = errorSignature(row);
    const group = bySignature.get(key);
    if (group) group.push(row);
    else bySignature.set(key, [row]);
  }
  const groups = [...bySignature].map(([signature, members]): FailureGroup => {
    const sorted = [...members].sort((a, b) => (a.failedAt ?? '').localeCompare(b.failedAt ?? ''));
    const times = sorted.map((r) => r.failedAt).filter((t): t is string => t !== null);
    const distinct = (values: (string | null)[]) => [...new Set(values.filter((v): v is string => v !== null))].sort();
    return {
      signature,
      count: members.length,
      firstAt: times[0] ?? null,
      lastAt: times.at(-1) ?? null,
      example: sorted[0]!,
      runs: distinct(members.map((r) => r.run)),
      codeVersions: distinct(members.map((r) => r.codeVersion)),
      ids: members.map((r) => r.id),
    };
  });
  return groups.sort((a, b) => b.count - a.count || (a.firstAt ?? '').localeCompare(b.firstAt ?? ''));
}

/** Where the worker that gave up on a task ran: this machine, or elsewhere (a GKE pod). */
function ranHere(row: FailureRow): boolean {
  const host = row.worker?.split(':', 1)[0];
  return host !== undefined && host === hostname();
}

/** `text` as one shell word: single-quoted, with each `'` closed, escaped and reopened. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The command that shows a task's log lines: npm start's log files on this machine, Cloud
 * Logging for a worker that ran elsewhere (the workers log JSON with the task id on each line).
 * The id is quoted for the shell and for the filter, so any id pastes safely.
 */
export function logsCommand(row: FailureRow, logDir = 'local/logs'): string {
  if (row.worker === null || ranHere(row)) {
    // grep -F: the id as a literal, written as the JSON log line writes it.
    return `grep -hF ${shellWord(`"taskId":${JSON.stringify(row.id)}`)} ${logDir}/worker-*.log`;
  }
  const filter = `resource.type="k8s_container" AND jsonPayload.taskId=${JSON.stringify(row.id)}`;
  return (
    `gcloud logging read ${shellWord(filter)} --freshness=14d --order=asc ` +
    `--format="value(timestamp,jsonPayload.message)"`
  );
}

function shortTime(iso: string | null): string {
  return iso === null ? '-' : `${iso.slice(0, 19).replace('T', ' ')}Z`;
}

/**
 * The grouped view: one line per error, then an example of it with its row and log command.
 * Everything that came from a message or an error goes through `printable`, like the list view.
 */
export function renderGroups(groups: readonly FailureGroup[], width?: number): string[] {
  const cut = (text: string) => (width ? truncate(text, width) : text);
  const header = ['COUNT', 'FIRST (UTC)', 'LAST (UTC)', 'ERROR'];
  const cells = groups.map((g) => [
    formatCount(g.count),
    shortTime(g.firstAt),
    shortTime(g.lastAt),
    cutCell(printable(g.signature), MAX_CELL_CHARS),
  ]);
  const [head, ...lines] = alignColumns([header, ...cells], ['right', 'left', 'left', 'left']);
  const out = [head!];
  groups.forEach((group, i) => {
    const e = group.example;
    out.push(cut(lines[i]!));
    const where = e.run === null ? '' : `, row ${e.row ?? '?'} of run ${printable(e.run)}`;
    const tries = e.attempts === null ? '' : `, ${e.attempts} tries`;
    const example = `task ${printable(e.id)}${where}${tries}: ${printable(errorSummary(errorText(e)))}`;
    out.push(cut(`      e.g. ${cutCell(example, MAX_CELL_CHARS)}`));
    if (group.runs.length > 1) out.push(cut(`      runs: ${printable(group.runs.join(', '))}`));
    if (group.codeVersions.length > 0) out.push(cut(`      code: ${printable(group.codeVersions.join(', '))}`));
    out.push(`      logs: ${printable(logsCommand(e))}`);
  });
  return out;
}
