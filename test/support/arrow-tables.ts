/**
 * Test helpers for parameter tables: temporary folders, tables written by apache-arrow itself
 * (file or stream format, in several record batches), and small tasks to check them against.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Table, Vector } from 'apache-arrow';
import { z } from 'zod';
import { writeArrowTable } from '../../lib/params/writeTable';
import { defineTask, skipExistingOutputs } from '../../lib/task';

/** A fresh folder under the OS temp dir, removed after the enclosing `describe`. */
export function useTempDir(prefix = 'params-'): { readonly dir: string } {
  const holder: { dir?: string } = {};
  before(() => {
    holder.dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  after(() => {
    if (holder.dir) rmSync(holder.dir, { recursive: true, force: true });
  });
  return {
    get dir(): string {
      if (!holder.dir) throw new Error('temp dir not created yet (use it inside it/before hooks)');
      return holder.dir;
    },
  };
}

/**
 * Writes `columns` as an Arrow IPC file (or stream) with apache-arrow, split into record batches
 * of `batchRows` rows so readers are exercised across batch boundaries.
 */
export async function writeTable(
  file: string,
  columns: Record<string, Vector>,
  options: { format?: 'file' | 'stream'; batchRows?: number } = {},
): Promise<string> {
  const table = new Table(columns);
  const batchRows = options.batchRows ?? Math.max(table.numRows, 1);
  const batches = [];
  for (let start = 0; start < table.numRows; start += batchRows)
    batches.push(...table.slice(start, start + batchRows).batches);
  // an empty table still needs its schema: one zero-length batch carries it
  await writeArrowTable(file, batches.length > 0 ? batches : table.batches, { format: options.format });
  return file;
}

/** A task shaped like the example one, with a skip filter on `done/<start>.json`. */
export const primesLike = defineTask({
  key: ['tests.params', 'primes_like'],
  params: z.object({
    start: z.number().int().nonnegative(),
    count: z.number().int().positive(),
    label: z.string(),
    sleep_ms: z.number().int().nonnegative().default(0),
  }),
  filterTasks: skipExistingOutputs((row: { start: number }) => `done/${row.start}.json`),
  run: () => undefined,
});

/** A task without a filter that takes every JSON kind the converter produces. */
export const everyKind = defineTask({
  key: ['tests.params', 'every_kind'],
  params: z.object({
    n: z.number(),
    flag: z.boolean(),
    name: z.string(),
    when: z.string().nullable(),
    tags: z.array(z.number()).optional(),
  }),
  run: () => undefined,
});
