/**
 * python-task-queue's file queue layout (see docs/queue.md and the reference format): where each
 * file lives and how task file names are built and parsed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, makeDirs } from './fileOps';

export class FileQueueLayout {
  readonly queueDir: string;
  readonly movementDir: string;
  /** Ours: one byte appended per lease after the first. Python ignores it. */
  readonly attemptsDir: string;
  /** Ours: `<id>.json` = { body, failure } per dead-lettered task. Python ignores it. */
  readonly deadDir: string;
  /** Ours: entries taken out of `queue/` because they were not task files (directories, broken links). */
  readonly brokenDir: string;
  readonly insertionsFile: string;
  readonly completionsFile: string;
  readonly insertionsLock: string;

  constructor(readonly root: string) {
    this.queueDir = path.join(root, 'queue');
    this.movementDir = path.join(root, 'movement');
    this.attemptsDir = path.join(root, 'attempts');
    this.deadDir = path.join(root, 'dead');
    this.brokenDir = path.join(root, 'broken');
    this.insertionsFile = path.join(root, 'insertions');
    this.completionsFile = path.join(root, 'completions');
    this.insertionsLock = path.join(root, 'insertions.lock');
  }

  // Names and ids are single path components (read from a directory or made by us): a plain join
  // spares the normalisation `path.join` does, several times per task.
  taskPath(name: string): string {
    return `${this.queueDir}${path.sep}${name}`;
  }
  journalPath(id: string): string {
    return `${this.movementDir}${path.sep}${id}`;
  }
  attemptsPath(id: string): string {
    return `${this.attemptsDir}${path.sep}${id}`;
  }
  deadPath(id: string): string {
    return path.join(this.deadDir, `${id}.json`);
  }

  /**
   * Creates the folders python-task-queue has (`queue/`, `movement/`) and `insertions` = 0 when
   * missing; leaves existing content alone. Our own folders are made by whatever first writes to
   * them, since a queue made by Python never has them.
   */
  create(): void {
    makeDirs(this.queueDir);
    makeDirs(this.movementDir);
    try {
      fs.writeFileSync(this.insertionsFile, '0', { flag: 'wx' });
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
}

/** Task file name: `<ts>--<id>.json`, `ts` in integer Unix seconds when the task becomes leasable. */
export function taskFileName(timestamp: number, id: string): string {
  return `${timestamp}--${id}.json`;
}

const TASK_NAME = /^(\d+)--(.+)\.json$/;

/**
 * Parses a task file name; undefined for anything else (such files are skipped, never crash us).
 * The id is everything after the first `--`: a file whose id holds `--` (which Python cannot lease)
 * is still seen, leased and dead-lettered here, never left invisible.
 */
export function parseTaskFileName(name: string): { timestamp: number; id: string } | undefined {
  const match = TASK_NAME.exec(name);
  if (!match || match[2] === '.' || match[2] === '..') return undefined;
  return { timestamp: Number(match[1]), id: match[2]! };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
