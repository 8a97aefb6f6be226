/**
 * Claiming one task file for a lease: the rename of its exact old name to the leased name (the
 * atomic claim python-task-queue uses), the journal line, the read, and the attempt count.
 */
import fs from 'node:fs';
import type { FileDeadLetters } from './fileDeadLetters';
import { appendSized, appendSizedAndClose, modifiedAt, openAppendIfPresent, readTaskFile } from './fileOps';
import { FileQueueLayout, parseTaskFileName, taskFileName } from './fileQueueLayout';
import { renameTask } from './fileTaskFiles';
import type { LeasedTask } from './types';

/**
 * python-task-queue writes a task file in place and its journal right after: a task file without
 * a journal that was modified this recently may still be being written, so it is left for later.
 */
export const FRESH_UNJOURNALED_MS = 5000;

/** What python-task-queue's tally would append; ours appends one byte per lease after the first. */
const TALLY_BYTE = Buffer.alloc(1);

export interface ClaimContext {
  readonly layout: FileQueueLayout;
  readonly dead: FileDeadLetters;
  readonly ensureDir: (dir: string) => void;
}

/**
 * Renames `name` to the leased name (until `until`, Unix seconds); undefined when another worker
 * got there first, or the file is not ready, or it was not a task file (then dead-lettered).
 */
export function claimTask(
  { layout, dead, ensureDir }: ClaimContext,
  name: string,
  until: number,
): LeasedTask | undefined {
  const { id } = parseTaskFileName(name)!;
  const journal = layout.journalPath(id);
  let journalFd = openAppendIfPresent(journal);
  if (journalFd === undefined && Date.now() - (modifiedAt(layout.taskPath(name)) ?? 0) < FRESH_UNJOURNALED_MS) {
    return undefined; // python-task-queue may still be writing it
  }
  const leasedName = taskFileName(until, id);
  if (!renameTask(layout, name, leasedName)) {
    if (journalFd !== undefined) fs.closeSync(journalFd);
    return undefined;
  }
  journalFd ??= fs.openSync(journal, 'a');
  const line = `${leasedName}\n`;
  const journalBefore = appendSizedAndClose(journalFd, line) - Buffer.byteLength(line);
  const read = readTaskFile(layout.taskPath(leasedName));
  if (read.kind === 'gone') return undefined; // released by someone else in between
  if (read.kind === 'broken') {
    dead.quarantine(id, leasedName, read.what);
    return undefined;
  }
  // A journal holding a single name (the insert) means no lease before this one: attempt 1, and
  // no tally file to write now or unlink later (most tasks). Later leases tally in attempts/<id>,
  // which counts the leases after the first. Two names take at least twice the shortest name.
  const firstLease = journalBefore < 2 * Buffer.byteLength(`${taskFileName(0, id)}\n`);
  let attempt = 1;
  if (!firstLease) {
    ensureDir(layout.attemptsDir);
    attempt = 1 + appendSized(layout.attemptsPath(id), TALLY_BYTE);
  }
  return { id, body: read.body, attempt, handle: leasedName, leaseExpiresAt: until * 1000 };
}
