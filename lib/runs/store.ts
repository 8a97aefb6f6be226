/**
 * The run store: run records, per-worker outcome counts and worker heartbeats, one small JSON
 * object each (docs/operations.md, "Where runs live"). File queue: `DIR/runs/` and `DIR/workers/`
 * beside python-task-queue's folders; SQS and Pub/Sub: `<cloudpath>/_gke-batch/<queue>/`.
 * Every object has one writer (the inserter for a record, one worker for its counts and heartbeat).
 */
import { z } from 'zod';
import { parseQueueUrl } from '../urls/queue';
import { openStorage, type Storage } from '../storage';
import { runRecordSchema, type RunRecord } from './record';

/** Counts of tasks that carried no run id (inserted by Python, or before runs existed). */
export const NO_RUN = '_none';

export const workerRunCountsSchema = z.object({
  worker: z.string(),
  run: z.string(),
  completed: z.number(),
  failed: z.number(),
  retried: z.number(),
  retriesLeased: z.number(),
  inFlight: z.number(),
  firstAt: z.string().nullable(),
  lastAt: z.string().nullable(),
  updatedAt: z.string(),
  codeVersion: z.string(),
});
export type WorkerRunCounts = z.infer<typeof workerRunCountsSchema>;

export const heartbeatSchema = z.object({
  worker: z.string(),
  host: z.string(),
  pid: z.number(),
  codeVersion: z.string(),
  queue: z.string(),
  startedAt: z.string(),
  seenAt: z.string(),
  stoppedAt: z.string().nullable(),
  inFlight: z.number(),
  completed: z.number(),
  failed: z.number(),
  retried: z.number(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** Where the run store of a queue is, as a cloudpath (docs/operations.md). */
export function runStoreUrl(queueUrl: string, cloudpath: string): string {
  const location = parseQueueUrl(queueUrl);
  if (location.kind === 'fq') return `file://${location.root}`;
  const name = location.kind === 'sqs' ? `sqs-${location.name}` : `pubsub-${location.project}-${location.subscription}`;
  return `${cloudpath.replace(/\/+$/, '')}/_gke-batch/${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
}

/** A worker id (`host:pid`) as a file name / object key segment. */
export function workerKey(worker: string): string {
  return worker.replace(/[^A-Za-z0-9._-]/g, '_');
}

const RECORD_KEY = /^runs\/([^/]+)\.json$/;

export class RunStore {
  constructor(readonly storage: Storage) {}

  static open(queueUrl: string, cloudpath: string): RunStore {
    return new RunStore(openStorage(runStoreUrl(queueUrl, cloudpath)));
  }

  get url(): string {
    return this.storage.url;
  }

  async writeRun(record: RunRecord): Promise<void> {
    await this.storage.putJson(`runs/${record.id}.json`, record);
  }

  async readRun(id: string): Promise<RunRecord | undefined> {
    return parseJson(await this.storage.getText(`runs/${id}.json`), runRecordSchema);
  }

  /** Every run record, oldest first: by creation time to the millisecond (ids say only the second). */
  async listRuns(): Promise<RunRecord[]> {
    const keys: string[] = [];
    for await (const object of this.storage.list('runs/')) if (RECORD_KEY.test(object.key)) keys.push(object.key);
    keys.sort();
    const records = await Promise.all(
      keys.map(async (key) => parseJson(await this.storage.getText(key), runRecordSchema)),
    );
    return records
      .filter((r): r is RunRecord => r !== undefined)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async writeCounts(counts: WorkerRunCounts): Promise<void> {
    await this.storage.putJson(`runs/${counts.run}/outcomes/${workerKey(counts.worker)}.json`, counts);
  }

  /** Every worker's counts for one run. */
  async readCounts(run: string): Promise<WorkerRunCounts[]> {
    return this.readAll(`runs/${run}/outcomes/`, workerRunCountsSchema);
  }

  async writeHeartbeat(heartbeat: Heartbeat): Promise<void> {
    await this.storage.putJson(`workers/${workerKey(heartbeat.worker)}.json`, heartbeat);
  }

  async listWorkers(): Promise<Heartbeat[]> {
    return this.readAll('workers/', heartbeatSchema);
  }

  /** Removes every record, count and heartbeat (`npm run purge`); resolves with how many objects. */
  async clear(): Promise<number> {
    const keys: string[] = [];
    for (const prefix of ['runs/', 'workers/']) for await (const o of this.storage.list(prefix)) keys.push(o.key);
    await Promise.all(keys.map((key) => this.storage.delete(key)));
    return keys.length;
  }

  private async readAll<T>(prefix: string, schema: z.ZodType<T>): Promise<T[]> {
    const keys: string[] = [];
    for await (const object of this.storage.list(prefix)) if (object.key.endsWith('.json')) keys.push(object.key);
    const values = await Promise.all(keys.map(async (key) => parseJson(await this.storage.getText(key), schema)));
    return values.filter((v): v is Awaited<T> => v !== undefined);
  }
}

/** A missing object, or one cut short or from another version, reads as absent (never fails a status). */
function parseJson<T>(text: string | undefined, schema: z.ZodType<T>): T | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
