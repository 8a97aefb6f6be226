/**
 * Moving one task's files in python-task-queue's format: writing a task (journal, then the file
 * renamed in whole), the atomic claim by rename, a journaled move (renew, release), and removing
 * every name a journal lists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { QueueError } from './errors';
import { appendLine, errnoCode, unlinkIfPresent } from './fileOps';
import { FileQueueLayout, taskFileName } from './fileQueueLayout';

/**
 * Journal first, then the task file renamed in whole from the queue root (never a partial file
 * in queue/): a crash leaves at worst an unused journal. `journalFlag` 'wx' refuses an id that
 * is already queued or dead-lettered; a requeue ('w') replaces its own tombstone.
 */
export function writeTask(
  layout: FileQueueLayout,
  task: { readonly id: string; readonly body: string },
  timestamp: number,
  journalFlag: 'wx' | 'w',
  position = 0,
): void {
  const { id, body } = task;
  const name = taskFileName(timestamp, id);
  try {
    // the encoding keeps Node's one-call path for strings (without it: open, write, close from JS)
    fs.writeFileSync(layout.journalPath(id), `${name}\n`, { flag: journalFlag, encoding: 'utf8' });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    throw new QueueError(
      'InvalidMessage',
      `task #${position}: the id ${id} is already in fq://${layout.root} (queued or dead-lettered)`,
      'give every task its own id (encodeTask makes a fresh uuid4); requeue dead letters with `npm run requeue`',
    );
  }
  const tmp = path.join(layout.root, `.tmp-${process.pid}-${id}`);
  fs.writeFileSync(tmp, body);
  fs.renameSync(tmp, layout.taskPath(name));
}

/** The atomic claim: false when the exact old name no longer exists. */
export function renameTask(layout: FileQueueLayout, from: string, to: string): boolean {
  try {
    fs.renameSync(layout.taskPath(from), layout.taskPath(to));
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** Renames a task file and journals its new name; false when `from` is gone. */
export function moveTask(layout: FileQueueLayout, id: string, from: string, to: string): boolean {
  if (!renameTask(layout, from, to)) return false;
  appendLine(layout.journalPath(id), `${to}\n`);
  return true;
}

/**
 * Removes the task file held under `handle`; true when something was there. When that name is
 * gone (lease expired, taken over), every name in the journal goes, as Python does.
 */
export function removeTaskFiles(layout: FileQueueLayout, id: string, handle: string): boolean {
  if (unlinkIfPresent(layout.taskPath(handle))) return true;
  let names: string[] = [];
  try {
    names = fs.readFileSync(layout.journalPath(id), 'utf8').split('\n');
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  let removed = false;
  for (const name of names) {
    if (name !== '' && unlinkIfPresent(layout.taskPath(name))) removed = true;
  }
  return removed;
}
