/**
 * Every distinct cloudpath of a table, parsed during the check pass and probed (reachable and
 * writable: a probe object written and deleted) before the first task is inserted, so a bad
 * `ftp://` path or a missing bucket at row 2,499 fails with nothing on the queue.
 */
import { randomUUID } from 'node:crypto';
import { openStorage, parseCloudpath } from '../storage';
import { UserError } from '../errors';
import { envName } from '../settings/table';

/** Probes in flight at once (each is one write and one delete). */
const PROBE_CONCURRENCY = 16;

export class CloudpathRegistry {
  /** cloudpath → the first row that uses it, and its parse error if any. */
  private readonly seen = new Map<string, { firstRow: number; problem?: string }>();

  /** Records a row's cloudpath; returns why it cannot be parsed (once per distinct path, cached). */
  check(cloudpath: string, row: number): string | undefined {
    let entry = this.seen.get(cloudpath);
    if (!entry) {
      entry = { firstRow: row };
      try {
        parseCloudpath(cloudpath);
      } catch (error) {
        entry.problem = error instanceof Error ? error.message : String(error);
      }
      this.seen.set(cloudpath, entry);
    }
    return entry.problem;
  }

  get size(): number {
    return this.seen.size;
  }

  /** Writes and deletes a probe object under every distinct cloudpath; throws one report of all that fail. */
  async probe(file: string): Promise<void> {
    const targets = [...this.seen].filter(([, entry]) => entry.problem === undefined);
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < targets.length) {
        const [cloudpath, { firstRow }] = targets[next++]!;
        const storage = openStorage(cloudpath, { maxRetries: 1 });
        const key = `.gke-batch-insert-probe-${randomUUID()}`;
        try {
          await storage.put(key, new Uint8Array(0));
          await storage.delete(key);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          failures.push(`${cloudpath} (first used by row ${firstRow}): ${message.split('\n').join('\n    ')}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PROBE_CONCURRENCY, targets.length) }, worker));
    if (failures.length === 0) return;
    failures.sort();
    throw new UserError(
      [
        `${file}: ${failures.length} of ${targets.length} cloudpaths cannot be written to; nothing was inserted.`,
        ...failures.slice(0, 10).map((f) => `  ${f}`),
        ...(failures.length > 10 ? [`  ... and ${failures.length - 10} more`] : []),
        '  fix: create the bucket or folder (or grant write access), ' +
          `or correct the cloudpath column / ${envName('cloudpath')}, ` +
          'and insert again',
      ].join('\n'),
    );
  }
}
