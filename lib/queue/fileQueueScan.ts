/**
 * Whole-folder reads of `queue/`: streamed through one directory handle (never the whole listing
 * in memory), yielding to the event loop every 10,000 entries so timers keep running.
 */
import fs from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { errnoCode } from './fileOps';
import { queueNotFound } from './fileErrors';
import { FileQueueLayout, parseTaskFileName } from './fileQueueLayout';

export function openQueueDir(layout: FileQueueLayout): fs.Dir {
  try {
    return fs.opendirSync(layout.queueDir, { bufferSize: 256 });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw queueNotFound(layout);
    throw error;
  }
}

/** Calls `visit` for every task file in `queue/` (other entries are skipped). */
export async function forEachTaskFile(
  layout: FileQueueLayout,
  visit: (timestamp: number, id: string, name: string) => void,
): Promise<void> {
  const dir = openQueueDir(layout);
  try {
    let seen = 0;
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      const parsed = parseTaskFileName(entry.name);
      if (parsed) visit(parsed.timestamp, parsed.id, entry.name);
      if (++seen % 10_000 === 0) await yieldToEventLoop();
    }
  } finally {
    dir.closeSync();
  }
}

/** True when `queue/` holds no task file; stops at the first one. */
export function hasNoTaskFile(layout: FileQueueLayout): boolean {
  const dir = openQueueDir(layout);
  try {
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      if (parseTaskFileName(entry.name)) return false;
    }
    return true;
  } finally {
    dir.closeSync();
  }
}
