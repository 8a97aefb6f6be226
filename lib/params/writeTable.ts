/**
 * Writes uncompressed Arrow IPC files with apache-arrow itself (the example table, benchmarks, tests): batch by
 * batch, so a large table never sits in memory whole, and atomically (temporary file, then rename),
 * so a reader never sees half a table.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { makeDirs } from '../makeDirs';
import { RecordBatch, RecordBatchFileWriter, RecordBatchStreamWriter } from 'apache-arrow';

export interface WriteTableOptions {
  /** `file` (Feather V2, the default) or `stream`. */
  readonly format?: 'file' | 'stream';
}

export async function writeArrowTable(
  file: string,
  batches: Iterable<RecordBatch> | AsyncIterable<RecordBatch>,
  options: WriteTableOptions = {},
): Promise<void> {
  makeDirs(path.dirname(path.resolve(file)));
  const tmp = `${file}.${process.pid}.tmp`;
  // Uncompressed: apache-arrow 21 writes invalid compressed files (see codecs.ts).
  const writer = options.format === 'stream' ? new RecordBatchStreamWriter() : new RecordBatchFileWriter();
  const out = createWriteStream(tmp);
  writer.toNodeStream().pipe(out);
  try {
    for await (const batch of batches) writer.write(batch);
    writer.finish();
    await finished(out);
    await rename(tmp, file);
  } catch (error) {
    out.destroy();
    await rm(tmp, { force: true });
    throw error;
  }
}
