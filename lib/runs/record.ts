/**
 * The run record: what one insert put on the queue (docs/operations.md, "Runs"). Written by the
 * inserter into the run store, read by `status`, `failures`, `requeue` and the dashboard.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';

export const runRecordSchema = z.object({
  id: z.string().min(1),
  task: z.string(),
  table: z.object({ path: z.string(), sha256: z.string(), bytes: z.number(), rows: z.number() }),
  limit: z.number().nullable(),
  inserted: z.number().nullable(),
  skipped: z.number().nullable(),
  state: z.enum(['inserting', 'inserted', 'interrupted']),
  codeVersion: z.string(),
  createdAt: z.string(),
  insertedAt: z.string().nullable(),
  queue: z.string(),
  cloudpath: z.string(),
});

export type RunRecord = z.infer<typeof runRecordSchema>;

/** Run ids: letters, digits and `-`, so they fit in file names, object keys and log queries. */
export const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

/** `r-YYYYMMDD-HHMMSS-XXXX`: the insert's UTC time (ids sort by time) and 4 random hex digits. */
export function newRunId(at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `r-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** The SHA-256 of a file's bytes (hex) and its size, streamed. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
