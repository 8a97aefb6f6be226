/**
 * The failure table's rows: `failures`' groups (lib/ops/failureGroups.ts: one group per error once
 * numbers, ids and quoted text are blanked) as the JSON the page renders.
 */
import { errorText, groupFailures, logsCommand } from '../lib/ops/failureGroups';
import type { FailureRow } from '../lib/ops/failures';
import type { FailureGroup } from './api';

export function failureGroupsView(rows: readonly FailureRow[]): FailureGroup[] {
  return groupFailures(rows).map((group) => {
    const e = group.example;
    const members = rows.filter((row) => group.ids.includes(row.id));
    return {
      key: group.signature,
      error: group.signature,
      count: group.count,
      tasks: [...new Set(members.map((row) => row.task ?? '(malformed)'))].sort(),
      firstAt: group.firstAt,
      lastAt: group.lastAt,
      runs: group.runs,
      codeVersions: group.codeVersions,
      example: {
        id: e.id,
        run: e.run,
        row: e.row,
        message: errorText(e).split('\n', 1)[0]!,
        params: e.params,
        attempts: e.attempts,
        worker: e.worker,
        stack: e.stack ?? e.message,
        logs: logsCommand(e),
      },
    };
  });
}
