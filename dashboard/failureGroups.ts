/**
 * Groups dead-lettered tasks by error for the failure table: one row per reason and first line
 * of the message, most frequent first, with the first and last time and one example.
 */
import type { FailureRow } from '../lib/ops/failures';
import type { FailureGroup } from './api';

/** The line a failure is known by: its error's first line, or why there is none. */
function errorLine(row: FailureRow): string {
  if (row.error !== null) return row.error;
  if (row.malformed !== null) return `malformed message: ${row.malformed.split('\n', 1)[0]}`;
  return 'no failure record (moved by SQS redrive)';
}

/** The group a failure belongs to; `requeue` recomputes it from a fresh listing. */
export function groupKeyOf(row: FailureRow): string {
  return `${row.reason ?? '-'}\u0000${errorLine(row)}`;
}

export function groupFailures(rows: readonly FailureRow[]): FailureGroup[] {
  const groups = new Map<string, { rows: FailureRow[] }>();
  for (const row of rows) {
    const key = groupKeyOf(row);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { rows: [] }));
    group.rows.push(row);
  }
  const out: FailureGroup[] = [];
  for (const [key, { rows: members }] of groups) {
    const times = members.map((r) => r.failedAt).filter((t): t is string => t !== null);
    times.sort();
    const example = members[0];
    out.push({
      key,
      reason: example.reason,
      error: errorLine(example),
      count: members.length,
      tasks: [...new Set(members.map((r) => r.task ?? '(malformed)'))].sort(),
      firstAt: times[0] ?? null,
      lastAt: times.at(-1) ?? null,
      example: {
        id: example.id,
        params: example.params,
        attempts: example.attempts,
        worker: example.worker,
        stack: example.stack ?? example.message,
      },
    });
  }
  return out.sort((a, b) => b.count - a.count || a.error.localeCompare(b.error));
}
