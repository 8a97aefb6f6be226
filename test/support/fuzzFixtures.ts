/**
 * The tables the fuzzer mutates: ours (written by apache-arrow: every supported type, nulls, two
 * batches, file and stream format; a CSV) and the files other Arrow writers made (test/fixtures/arrow).
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  Bool,
  DateDay,
  Dictionary,
  Field,
  FixedSizeList,
  Float64,
  Int32,
  Int64,
  Int8,
  LargeUtf8,
  List,
  Struct,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { writeTable } from './arrow-tables';
import type { FuzzFixture } from './fuzz';

export const ARROW_FIXTURES = path.join(__dirname, '..', 'fixtures', 'arrow');
export const PANDAS_FIXTURES = path.join(__dirname, '..', 'fixtures', 'pandas');

function ourColumns() {
  const item = (type: Int32) => new Field('item', type, true);
  return {
    id: vectorFromArray([0n, 1n, null, 3n, 4n, 5n], new Int64()),
    weight: vectorFromArray([0.5, NaN, null, -1e300, 2, 3], new Float64()),
    flag: vectorFromArray([true, false, null, true, false, true], new Bool()),
    name: vectorFromArray(['plain', 'ünïcødé ✓', null, '', 'x', 'yz'], new Utf8()),
    big: vectorFromArray(['large', 'string', null, 'x', 'y', 'z'], new LargeUtf8()),
    cat: vectorFromArray(['red', 'green', null, 'red', 'blue', 'green'], new Dictionary(new Utf8(), new Int8())),
    day: vectorFromArray(
      [new Date(Date.UTC(2024, 1, 29)), null, new Date(0), new Date(0), new Date(0), new Date(0)],
      new DateDay(),
    ),
    when: vectorFromArray([1_700_000_000_000, null, 0, 1, 2, 3], new TimestampMicrosecond()),
    ints: vectorFromArray([[1, 2, null], [], null, [4], [5, 6], [7]], new List(item(new Int32()))),
    pair: vectorFromArray([[1, 2], [3, null], null, [5, 6], [7, 8], [9, 10]], new FixedSizeList(2, item(new Int32()))),
    point: vectorFromArray(
      [{ x: 1, tag: 'a' }, { x: null, tag: 'b' }, null, { x: 4, tag: null }, { x: 5, tag: 'e' }, { x: 6, tag: 'f' }],
      new Struct([new Field('x', new Int32(), true), new Field('tag', new Utf8(), true)]),
    ),
  };
}

/** Writes our fixtures into `dir` and lists them with the other writers' files. */
export async function buildFuzzFixtures(dir: string): Promise<FuzzFixture[]> {
  const fixtures: FuzzFixture[] = [];
  for (const format of ['file', 'stream'] as const) {
    const file = path.join(dir, `ours.${format === 'file' ? 'arrow' : 'arrows'}`);
    await writeTable(file, ourColumns(), { format, batchRows: 3 });
    fixtures.push({ name: `apache-arrow ${format}`, file });
  }
  const csv = path.join(dir, 'ours.csv');
  writeFileSync(csv, 'start,count,label,on\n0,10,first,true\n10,10,"quoted, with comma",false\n20,,ünïcødé,1\n');
  fixtures.push({
    name: 'CSV',
    file: csv,
    csvKinds: { start: 'number', count: 'number', label: 'string', on: 'boolean' },
  });
  for (const name of readdirSync(ARROW_FIXTURES).sort()) {
    if (/\.(arrow_file|stream|feather)$/.test(name)) fixtures.push({ name, file: path.join(ARROW_FIXTURES, name) });
  }
  for (const name of readdirSync(PANDAS_FIXTURES).sort()) {
    if (/\.(feather|parquet)$/.test(name)) fixtures.push({ name, file: path.join(PANDAS_FIXTURES, name) });
  }
  return fixtures;
}
