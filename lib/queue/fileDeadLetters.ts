/**
 * The file queue's dead letters: `dead/<id>.json` = {"body": <raw body>, "failure": FailureRecord}.
 *
 * The purge rule: a dead-lettered task keeps its journal `movement/<id>` as a tombstone, and a dead
 * letter counts only while that journal exists. python-task-queue's `ptq purge` empties `queue/`
 * and `movement/` but knows nothing of `dead/`; the missing journals mark the dead letters from
 * before the purge, which are then removed (with their attempt tallies) instead of coming back in
 * `status`, `failures` or a requeue. Python ignores journals without a task file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { errnoCode, unlinkIfPresent, writeFileAtomic } from './fileOps';
import type { FileQueueLayout } from './fileQueueLayout';
import type { DeadLetter, FailureRecord } from './types';

export class FileDeadLetters {
  constructor(
    private readonly layout: FileQueueLayout,
    /** Makes a folder of ours on demand (a queue made by Python has none). */
    private readonly ensureDir: (dir: string) => void,
  ) {}

  /** Stores the record; the caller then takes the task out of `queue/`, keeping its journal. */
  write(id: string, body: string, failure: FailureRecord): void {
    this.ensureDir(this.layout.deadDir);
    writeFileAtomic(this.layout.root, this.layout.deadPath(id), JSON.stringify({ body, failure }));
  }

  /** Ids of the dead letters that still count; drops those a python-task-queue purge left behind. */
  ids(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.layout.deadDir);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw error;
    }
    const ids: string[] = [];
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      if (fs.existsSync(this.layout.journalPath(id))) ids.push(id);
      else this.forget(id);
    }
    return ids;
  }

  /** The dead letter, or undefined when it went meanwhile (requeued by another process). */
  read(id: string): DeadLetter | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.layout.deadPath(id), 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const parsed = JSON.parse(text) as { body?: unknown; failure?: FailureRecord };
      if (typeof parsed.body === 'string') return { id, body: parsed.body, failure: parsed.failure };
    } catch {
      // not our record: hand it back as the body, so nothing is lost
    }
    return { id, body: text };
  }

  /** Removes the record (after a requeue, or when a purge made it stale) and the attempt tally. */
  forget(id: string): void {
    unlinkIfPresent(this.layout.deadPath(id));
    unlinkIfPresent(this.layout.attemptsPath(id));
  }

  /**
   * A directory, device or broken link named like a task file (just claimed under `name`): moved
   * aside to `broken/` and dead-lettered with a record saying what it was, so no worker retries it
   * forever or waits on it; `failures` shows it, `purge` clears it.
   */
  quarantine(id: string, name: string, what: string): void {
    this.ensureDir(this.layout.brokenDir);
    // prefixed with the time, so a second entry of the same name never collides with the first
    const target = path.join(this.layout.brokenDir, `${Date.now()}-${name}`);
    fs.renameSync(this.layout.taskPath(name), target);
    this.write(id, '', {
      taskId: id,
      body: '',
      reason: 'BrokenEntry',
      message: `queue/${name} was ${what}, not a task file: moved to ${path.relative(this.layout.root, target)}`,
      attempts: 0,
      worker: `file queue (pid ${process.pid})`,
      failedAt: new Date().toISOString(),
    });
  }
}
