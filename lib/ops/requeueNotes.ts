/**
 * What `requeue` tells the user about code versions (the command and the dashboard say the same):
 * the code the tasks failed on, the code here now, and the workers' code, since requeued tasks
 * run on whatever the workers run and a fix needs them restarted.
 */
import type { FailureRow } from './failures';
import { formatCount } from './units';

/** What to tell the user about code versions: the failed tasks', this checkout's, the workers'. */
export function versionNotes(
  rows: readonly FailureRow[],
  current: string,
  workerVersions: readonly string[],
): string[] {
  const failedOn = [...new Set(rows.map((r) => r.codeVersion).filter((v): v is string => v !== null))].sort();
  const notes: string[] = [];
  const other = failedOn.filter((v) => v !== current);
  if (other.length > 0) {
    notes.push(`warning: they failed on code ${other.join(', ')}; the code here is now ${current}.`);
  } else if (failedOn.length > 0) {
    notes.push(
      `note: they failed on ${current}, the code you have now: unless the cause was outside the code, they fail again.`,
    );
  }
  const stale = [...new Set(workerVersions)].filter((v) => v !== current);
  if (stale.length > 0) {
    notes.push(
      `warning: ${formatCount(workerVersions.filter((v) => v !== current).length)} worker(s) seen in the last 20 s ` +
        `run ${stale.join(', ')}, not ${current}: they will run the requeued tasks on that code.`,
    );
  }
  notes.push(
    'Workers pick up new code only when restarted: npm start (Ctrl-C, then again), npm run worker (restart it), ' +
      'GKE (pulumi up builds and rolls out the new image).',
  );
  return notes;
}
