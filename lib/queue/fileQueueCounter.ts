/**
 * The `insertions` counter: ASCII decimal, no newline. python-task-queue updates it with an
 * unlocked read-modify-write, so two inserters can lose counts. Among our processes a lock file
 * (created with O_EXCL) serialises the update, and the new value is renamed in whole, so readers
 * never see a half-written number. Python inserters do not take our lock: see docs/queue.md.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode, unlinkIfPresent, writeFileAtomic } from './fileOps';
import type { FileQueueLayout } from './fileQueueLayout';

/** A lock older than this was left by a crashed process (the lock is held for microseconds). */
const STALE_LOCK_MS = 10_000;
const RETRY_MS = 2;

export function readCounter(file: string): number {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    const value = text === '' ? 0 : Number(text);
    return Number.isSafeInteger(value) ? value : 0;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 0;
    throw error;
  }
}

async function acquireLock(lockFile: string): Promise<void> {
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
    try {
      if (Date.now() - fs.statSync(lockFile).mtimeMs > STALE_LOCK_MS) unlinkIfPresent(lockFile);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
    await sleep(RETRY_MS);
  }
}

/** Adds `count` to `insertions`; resolves with the new total. */
export async function addInsertions(layout: FileQueueLayout, count: number): Promise<number> {
  await acquireLock(layout.insertionsLock);
  try {
    const total = readCounter(layout.insertionsFile) + count;
    writeFileAtomic(layout.root, layout.insertionsFile, String(total));
    return total;
  } finally {
    unlinkIfPresent(layout.insertionsLock);
  }
}

/** Sets both counters to zero, as python-task-queue's `rezero` does. */
export async function resetCounters(layout: FileQueueLayout): Promise<void> {
  await acquireLock(layout.insertionsLock);
  try {
    writeFileAtomic(layout.root, layout.insertionsFile, '0');
    fs.writeFileSync(layout.completionsFile, '');
  } finally {
    unlinkIfPresent(layout.insertionsLock);
  }
}
