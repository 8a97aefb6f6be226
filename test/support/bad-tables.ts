/**
 * Broken parameter tables for the "nothing is inserted" tests: each case makes one file (from the
 * real fixtures or apache-arrow) and names the message the inserter must give for it.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Decimal, Int64, makeData, makeVector, Utf8, Vector, vectorFromArray } from 'apache-arrow';
// apache-arrow's own dependency, needed to read its generated flatbuffer message classes
import * as flatbuffers from 'flatbuffers';
import { Message } from 'apache-arrow/fb/message';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch } from 'apache-arrow/fb/record-batch';
import { z } from 'zod';
import { AnyTaskDefinition, defineTask } from '../../lib/task';
import { writeTable } from './arrow-tables';

export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'arrow');

/**
 * Positions of the BodyCompression `codec` byte of every record batch in an IPC stream (only
 * present when not the default LZ4_FRAME, so use a ZSTD stream).
 */
export function codecBytePositions(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const positions: number[] = [];
  let pos = 0;
  while (pos + 8 <= bytes.length) {
    if (view.getUint32(pos, true) === 0xffffffff) pos += 4;
    const length = view.getInt32(pos, true);
    pos += 4;
    if (length === 0) break;
    const message = Message.getRootAsMessage(new flatbuffers.ByteBuffer(bytes.subarray(pos, pos + length)));
    if (message.headerType() === MessageHeader.RecordBatch) {
      const compression = (message.header(new RecordBatch()) as RecordBatch).compression();
      const field = compression ? compression.bb!.__offset(compression.bb_pos, 4) : 0;
      if (compression && field) positions.push(pos + compression.bb_pos + field);
    }
    pos += length + Number(message.bodyLength());
  }
  return positions;
}

/** The example task's columns: start, count, label, sleep_ms (int64/string like pandas writes). */
export function exampleColumns(rows: number, overrides: Record<string, Vector> = {}): Record<string, Vector> {
  const index = Array.from({ length: rows }, (_, i) => i);
  return {
    start: vectorFromArray(
      index.map((i) => BigInt(i * 10)),
      new Int64(),
    ),
    count: vectorFromArray(
      index.map(() => 10n),
      new Int64(),
    ),
    label: vectorFromArray(
      index.map((i) => `row ${i}`),
      new Utf8(),
    ),
    sleep_ms: vectorFromArray(
      index.map(() => 0n),
      new Int64(),
    ),
    ...overrides,
  };
}

export interface BadTable {
  readonly name: string;
  /** Makes the file (or directory...) under `dir`; returns its path. */
  readonly make: (dir: string) => Promise<string> | string;
  /** Every pattern must match the error message. */
  readonly expected: readonly RegExp[];
  /** The task to insert for (default: one shaped like the example task). */
  readonly task?: AnyTaskDefinition;
}

/** For the Arrow C++ fixtures' columns. */
const intsAndStrings = defineTask({
  key: ['tests.params', 'ints_and_strings'],
  params: z.object({ ints: z.number().nullable(), strs: z.string().nullable() }),
  run: () => undefined,
});

const validFile = async (dir: string, name: string) => writeTable(path.join(dir, name), exampleColumns(5));

export const BAD_TABLES: readonly BadTable[] = [
  {
    name: 'truncated file',
    make: async (dir) => {
      const file = await validFile(dir, 'whole.feather');
      const bytes = readFileSync(file);
      writeFileSync(path.join(dir, 'truncated.feather'), bytes.subarray(0, Math.floor(bytes.length / 2)));
      return path.join(dir, 'truncated.feather');
    },
    expected: [
      new RegExp(
        /truncated\.feather: is cut short: it starts like an Arrow IPC file but its \d+ bytes end without/.source +
          / the closing ARROW1 footer/.source,
      ),
      /fix: copy or write it again/,
    ],
  },
  {
    name: 'truncated stream',
    make: (dir) => {
      const bytes = readFileSync(path.join(FIXTURES, 'generated_zstd.stream'));
      writeFileSync(path.join(dir, 'cut.arrows'), bytes.subarray(0, bytes.length - 100));
      return path.join(dir, 'cut.arrows');
    },
    expected: [/cut\.arrows: is cut short: it is an Arrow IPC stream without the end-of-stream marker/],
  },
  {
    name: 'not an Arrow file',
    make: (dir) => {
      writeFileSync(path.join(dir, 'page.feather'), '<html><body>404 Not Found</body></html>\n');
      return path.join(dir, 'page.feather');
    },
    expected: [
      /page\.feather: is not an Arrow\/Feather file: it starts with "<html><b", where Feather V2 starts with "ARROW1"/,
      /df\.to_feather\(path\)/,
    ],
  },
  {
    name: 'wrong magic',
    make: async (dir) => {
      const bytes = readFileSync(await validFile(dir, 'magic-source.feather'));
      bytes.write('ARROW2', 0, 'latin1');
      writeFileSync(path.join(dir, 'magic.feather'), bytes);
      return path.join(dir, 'magic.feather');
    },
    expected: [/magic\.feather: is not an Arrow\/Feather file: it starts with 41 52 52 4f 57 32 00 00/],
  },
  {
    name: 'Feather V1',
    make: (dir) => {
      // The V1 layout: "FEA1", column data, flatbuffer metadata, its int32 length, "FEA1".
      const body = Buffer.concat([
        Buffer.from('FEA1'),
        Buffer.alloc(64, 7),
        Buffer.from([64, 0, 0, 0]),
        Buffer.from('FEA1'),
      ]);
      writeFileSync(path.join(dir, 'old.feather'), body);
      return path.join(dir, 'old.feather');
    },
    expected: [/old\.feather: is a Feather V1 file/, /re-save it as Feather V2 with pandas >= 1\.1 \/ pyarrow/],
  },
  {
    name: 'Parquet file without a valid footer',
    make: (dir) => {
      writeFileSync(
        path.join(dir, 'table.parquet'),
        Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(32), Buffer.from('PAR1')]),
      );
      return path.join(dir, 'table.parquet');
    },
    expected: [/table\.parquet: cannot be decoded as Parquet: /, /fix: the file is damaged/],
  },
  {
    name: 'unknown compression codec',
    make: (dir) => {
      const bytes = new Uint8Array(readFileSync(path.join(FIXTURES, 'generated_zstd.stream')));
      const positions = codecBytePositions(bytes);
      if (positions.length === 0) throw new Error('no codec byte found in the ZSTD fixture');
      for (const p of positions) bytes[p] = 7;
      writeFileSync(path.join(dir, 'codec7.arrows'), bytes);
      return path.join(dir, 'codec7.arrows');
    },
    task: intsAndStrings,
    expected: [
      new RegExp(
        /codec7\.arrows: uses a compression codec this reader does not know \(record batch 0\); it decodes/.source +
          / LZ4_FRAME and ZSTD/.source,
      ),
    ],
  },
  {
    name: 'empty file',
    make: (dir) => {
      writeFileSync(path.join(dir, 'empty.feather'), '');
      return path.join(dir, 'empty.feather');
    },
    expected: [/empty\.feather: is empty \(0 bytes\)/],
  },
  {
    name: 'directory instead of file',
    make: (dir) => {
      mkdirSync(path.join(dir, 'params.feather'), { recursive: true });
      return path.join(dir, 'params.feather');
    },
    expected: [/params\.feather: is a directory, not a table file/],
  },
  {
    name: 'a pipe instead of a file',
    make: (dir) => {
      execFileSync('mkfifo', [path.join(dir, 'pipe.feather')]);
      return path.join(dir, 'pipe.feather');
    },
    expected: [/pipe\.feather: is not a regular file/],
  },
  {
    name: 'path through a file',
    make: async (dir) => path.join(await validFile(dir, 'plain.feather'), 'inside.feather'),
    expected: [/inside\.feather: cannot be opened: a folder in its path is a file/],
  },
  {
    name: 'missing file',
    make: (dir) => path.join(dir, 'nowhere.feather'),
    expected: [/nowhere\.feather: does not exist/, /TASK_PARAMETER_FILENAME/],
  },
  {
    name: 'missing column',
    make: (dir) => {
      const { start, label, sleep_ms } = exampleColumns(3);
      return writeTable(path.join(dir, 'missing.feather'), { start, label, sleep_ms });
    },
    expected: [
      /missing\.feather: the columns do not match the parameters of task tests\.params\.primes_like/,
      /missing column: "count"/,
    ],
  },
  {
    name: 'extra column',
    make: (dir) =>
      writeTable(
        path.join(dir, 'extra.feather'),
        exampleColumns(3, { colour: vectorFromArray(['a', 'b', 'c'], new Utf8()) }),
      ),
    expected: [/unexpected column: "colour"/, /df\.drop\(columns=\["colour"\]\)/],
  },
  {
    name: 'int64 overflow',
    make: (dir) =>
      writeTable(
        path.join(dir, 'overflow.feather'),
        exampleColumns(4, { start: vectorFromArray([0n, 1n, 2n ** 60n, 3n], new Int64()) }),
      ),
    expected: [
      /1 of 4 rows fail the checks/,
      /column "start" \(int64\): 1 row:\n    row 2: 1152921504606846976 does not fit a JSON number exactly/,
    ],
  },
  {
    name: 'null in a required column',
    make: (dir) =>
      writeTable(
        path.join(dir, 'nulls.feather'),
        exampleColumns(6, { label: vectorFromArray(['a', null, 'c', null, 'e', 'f'], new Utf8()) }),
      ),
    expected: [
      /2 of 6 rows fail/,
      new RegExp(
        /column "label" \(string\): 2 rows:\n    row 1: missing value \(null, NaN or empty\) in a required/.source +
          / column\n    row 3: missing value/.source,
      ),
    ],
  },
  {
    name: 'wrong type',
    make: (dir) =>
      writeTable(path.join(dir, 'types.feather'), exampleColumns(2, { label: vectorFromArray([1n, 2n], new Int64()) })),
    expected: [/column "label" \(int64\): 2 rows:\n    row 0: 1: Invalid input: expected string, received number/],
  },
  {
    name: 'out of range',
    make: (dir) =>
      writeTable(
        path.join(dir, 'range.feather'),
        exampleColumns(12, {
          count: vectorFromArray(
            Array.from({ length: 12 }, (_, i) => BigInt(i % 2 === 0 ? 0 : 5)),
            new Int64(),
          ),
        }),
      ),
    expected: [
      /6 of 12 rows fail/,
      /column "count" \(int64\): 6 rows, the first 5:\n    row 0: 0: Too small: expected number to be >0\n    row 2: /,
      /row 8: 0/,
    ],
  },
  {
    name: 'unsupported column type',
    make: (dir) =>
      writeTable(
        path.join(dir, 'decimal.feather'),
        exampleColumns(1, {
          count: makeVector(makeData({ type: new Decimal(2, 10, 128), length: 1, data: new Uint32Array(4) })),
        }),
      ),
    expected: [
      new RegExp(
        /decimal\.feather: column "count" has type decimal128\(10, 2\), which tasks cannot take; cast it in/.source +
          / pandas before writing/.source,
      ),
    ],
  },
  {
    name: 'CSV with a bad row',
    make: (dir) => {
      writeFileSync(path.join(dir, 'hand.csv'), 'start,count,label\n0,10,first\n10,ten,second\n20,10,third\n');
      return path.join(dir, 'hand.csv');
    },
    expected: [
      /hand\.csv: 1 of 3 rows fail/,
      /lines count from 1/,
      /column "count" \(text\): 1 row:\n    row 1 \(line 3\): "ten" is not a number/,
    ],
  },
  {
    name: 'CSV row with too few values',
    make: (dir) => {
      writeFileSync(path.join(dir, 'short.csv'), 'start,count,label\n0,10,first\n10,20\n');
      return path.join(dir, 'short.csv');
    },
    expected: [/whole rows: 1 row:\n    row 1 \(line 3\): has 2 values; the header has 3 columns/],
  },
  {
    name: 'message too large',
    make: (dir) =>
      writeTable(
        path.join(dir, 'huge.feather'),
        exampleColumns(3, { label: vectorFromArray(['small', 'x'.repeat(300_000), 'small'], new Utf8()) }),
      ),
    expected: [
      new RegExp(
        /message size: 1 row:\n    row 1: the task message is 300,\d{3} bytes; a queue message holds at/.source +
          / most 262,144 \(256 KiB\)/.source,
      ),
    ],
  },
];

/** Copies a fixture into `dir` (tests never write into the fixtures folder). */
export function copyFixture(dir: string, name: string): string {
  const target = path.join(dir, name);
  copyFileSync(path.join(FIXTURES, name), target);
  return target;
}
