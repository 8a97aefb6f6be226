/**
 * The run record of one insert (lib/insert.ts): opened with the queue, it checks what the queue
 * already holds (lib/runs/reinsert.ts), is written as `inserting` once the table passed its checks
 * (before the first task is sent) and is ended as `inserted` or `interrupted`.
 */
import path from 'node:path';
import { createQueue } from '../queue';
import type { Queue } from '../queue/types';
import { codeVersion } from './codeVersion';
import { hashFile, newRunId, type RunRecord } from './record';
import { checkReinsert, describeRun } from './reinsert';
import { RunStore } from './store';

export interface InsertRecordInput {
  readonly queue: Queue;
  readonly cloudpath: string;
  /** The parameter table (its bytes are hashed: the same table is recognised when inserted again). */
  readonly tableFile: string;
  /** The task's key as `module.name`. */
  readonly task: string;
  /** `--limit`, or `null` for the whole table. */
  readonly limit: number | null;
}

export interface InsertRecordCheck {
  /** Set when this table's run still has tasks on the queue: that run's id and a line describing it. */
  readonly alreadyQueued?: { readonly run: string; readonly description: string };
  /** Lines for the user about what the queue already holds. */
  readonly notes: readonly string[];
}

export class InsertRecord {
  private started: RunRecord | undefined;

  private constructor(
    private readonly input: InsertRecordInput,
    private readonly store: RunStore,
    private readonly fingerprint: { readonly sha256: string; readonly bytes: number },
  ) {}

  /** Hashes the table and opens the queue's run store. */
  static async open(input: InsertRecordInput): Promise<InsertRecord> {
    const fingerprint = await hashFile(input.tableFile);
    return new InsertRecord(input, RunStore.open(input.queue.url, input.cloudpath), fingerprint);
  }

  /** What the queue already holds; `alreadyQueued` unless `again`. */
  async check(again: boolean): Promise<InsertRecordCheck> {
    const check = await checkReinsert({
      store: this.store,
      queue: this.input.queue,
      task: this.input.task,
      sha256: this.fingerprint.sha256,
      limit: this.input.limit,
      again,
    });
    if (!check.alreadyQueued) return { notes: check.notes };
    return {
      notes: check.notes,
      alreadyQueued: { run: check.alreadyQueued.id, description: describeRun(check.alreadyQueued) },
    };
  }

  /** Writes the new run's record (state `inserting`) for a table of `rows` checked rows. */
  async begin(rows: number): Promise<RunRecord> {
    const { queue, task, tableFile, limit, cloudpath } = this.input;
    // A file queue's run store lives in its folder: make the queue first, so a path that cannot
    // hold one is reported as the queue's problem.
    if (queue.kind === 'fq') await createQueue(queue.url);
    const { sha256, bytes } = this.fingerprint;
    const record: RunRecord = {
      id: newRunId(),
      task,
      table: { path: path.resolve(tableFile), sha256, bytes, rows },
      limit,
      inserted: null,
      skipped: null,
      state: 'inserting',
      codeVersion: codeVersion(),
      createdAt: new Date().toISOString(),
      insertedAt: null,
      queue: queue.url,
      cloudpath,
    };
    await this.store.writeRun(record).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`cannot write the run record to ${this.store.url}: ${message}`);
    });
    this.started = record;
    return record;
  }

  /** Writes the run's end: how many tasks went on the queue and how many rows filterTasks skipped. */
  async end(
    state: 'inserted' | 'interrupted',
    counts: { readonly inserted: number; readonly skipped: number },
    at: Date = new Date(),
  ): Promise<RunRecord> {
    if (!this.started) throw new Error('InsertRecord.end before begin');
    const { inserted, skipped } = counts;
    const record: RunRecord = { ...this.started, inserted, skipped, state, insertedAt: at.toISOString() };
    await this.store.writeRun(record);
    return record;
  }
}
