/**
 * The example task's parameter table (`tasks/example.ts`: start, count, label, sleep_ms), written
 * with apache-arrow so a fresh clone can insert without Python: `npm run example:params`.
 */
import { Int64, RecordBatch, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { writeArrowTable } from './writeTable';

export const EXAMPLE_ROWS = 1000;
/** Numbers each task tests for primality. */
export const EXAMPLE_COUNT = 10_000;

function* exampleBatches(rows: number, batchRows = 65_536): Generator<RecordBatch> {
  for (let first = 0; first < rows; first += batchRows) {
    const n = Math.min(batchRows, rows - first);
    const index = Array.from({ length: n }, (_, i) => first + i);
    // int64 columns, as pandas writes Python ints
    const table = new Table({
      start: vectorFromArray(
        index.map((i) => BigInt(i * EXAMPLE_COUNT)),
        new Int64(),
      ),
      count: vectorFromArray(
        index.map(() => BigInt(EXAMPLE_COUNT)),
        new Int64(),
      ),
      label: vectorFromArray(
        index.map((i) => `block ${i}`),
        new Utf8(),
      ),
      sleep_ms: vectorFromArray(
        index.map(() => 0n),
        new Int64(),
      ),
    });
    yield* table.batches;
  }
}

/** Writes the example table (Feather V2, uncompressed). */
export async function writeExampleParams(file: string, rows = EXAMPLE_ROWS): Promise<void> {
  await writeArrowTable(file, exampleBatches(rows));
}
