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

/** How much of `queue/` a count reads before it estimates the rest (`npm run status` answers in ≤ 2 s). */
export interface ScanBudget {
  readonly entries: number;
  readonly milliseconds: number;
}

/**
 * One second: `npm run status` at ten million tasks then takes ≈1.4 s in all. Half a second would
 * save 0.5 s but doubles the estimate's bias: leases take due tasks from the start of the directory,
 * where the count reads too, so the leased share there is high (docs/queue.md, measured at 10⁷).
 */
export const COUNT_SCAN_BUDGET: ScanBudget = { entries: 2_000_000, milliseconds: 1000 };

/**
 * Counts task files, and those whose timestamp is after `now` (leased or delayed), until the
 * directory ends (`complete`) or the budget is spent (then the figures are of the part read).
 */
export async function countTaskFiles(
  layout: FileQueueLayout,
  now: number,
  budget: ScanBudget,
): Promise<{ files: number; later: number; complete: boolean }> {
  const dir = openQueueDir(layout);
  const started = performance.now();
  let files = 0;
  let later = 0;
  try {
    let seen = 0;
    for (let entry = dir.readSync(); entry !== null; entry = dir.readSync()) {
      const parsed = parseTaskFileName(entry.name);
      if (parsed) {
        files++;
        if (parsed.timestamp > now) later++;
      }
      if (++seen % 10_000 === 0) {
        if (performance.now() - started >= budget.milliseconds) return { files, later, complete: false };
        await yieldToEventLoop();
      }
      if (seen >= budget.entries) return { files, later, complete: false };
    }
    return { files, later, complete: true };
  } finally {
    dir.closeSync();
  }
}
