/**
 * The Arrow → JSON mapping (docs/params.md), on tables written by apache-arrow itself: every type in
 * the mapping, nulls, batch boundaries, both IPC formats; types tasks cannot take are refused when
 * the schema is read. Also the CSV cell typing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  Binary,
  Bool,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  DurationSecond,
  Field,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  LargeList,
  LargeUtf8,
  List,
  makeData,
  makeVector,
  Null,
  Struct,
  TimeMillisecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  TimeUnit,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { CellError, timestampToIso } from '../lib/params/jsonValue';
import { csvValue, openTable, TableError, TableRow } from '../lib/params/readTable';
import { useTempDir, writeTable } from './support/arrow-tables';

async function readRows(file: string): Promise<TableRow[]> {
  const table = await openTable(file);
  const rows: TableRow[] = [];
  for await (const chunk of table.rows(3)) rows.push(...chunk);
  return rows;
}

const timestamps = (
  type: TimestampSecond | TimestampMillisecond | TimestampMicrosecond | TimestampNanosecond,
  values: bigint[],
) => makeVector(makeData({ type, length: values.length, data: new BigInt64Array(values) }));

describe('params: Arrow → JSON conversion', () => {
  const tmp = useTempDir();

  for (const format of ['file', 'stream'] as const) {
    it(`converts every supported type, with nulls, across record batches (${format} format)`, async () => {
      const file = path.join(tmp.dir, `all.${format}`);
      const item = (type: Int32 | Utf8) => new Field('item', type, true);
      await writeTable(
        file,
        {
          i8: vectorFromArray([-128, 127, null, 0], new Int8()),
          i16: vectorFromArray([-32768, 32767, null, 1], new Int16()),
          i32: vectorFromArray([-2147483648, 2147483647, null, 2], new Int32()),
          i64: vectorFromArray([-(2n ** 53n - 1n), 2n ** 53n - 1n, null, 3n], new Int64()),
          u8: vectorFromArray([0, 255, null, 4], new Uint8()),
          u16: vectorFromArray([0, 65535, null, 5], new Uint16()),
          u32: vectorFromArray([0, 4294967295, null, 6], new Uint32()),
          u64: vectorFromArray([0n, 2n ** 53n - 1n, null, 7n], new Uint64()),
          f16: vectorFromArray([0.5, -2, null, NaN], new Float16()),
          f32: vectorFromArray([0.1, -2.5, null, NaN], new Float32()),
          f64: vectorFromArray([0.1, -1e300, null, NaN], new Float64()),
          flag: vectorFromArray([true, false, null, true], new Bool()),
          s: vectorFromArray(['plain', 'ünïcødé ✓', null, ''], new Utf8()),
          ls: vectorFromArray(['large', 'string', null, 'x'], new LargeUtf8()),
          cat: vectorFromArray(['red', 'green', null, 'red'], new Dictionary(new Utf8(), new Int8())),
          day: vectorFromArray(
            [new Date(Date.UTC(2024, 1, 29)), new Date(Date.UTC(1969, 11, 31)), null, new Date(0)],
            new DateDay(),
          ),
          ms_day: vectorFromArray(
            [new Date(Date.UTC(2024, 1, 29)), new Date(Date.UTC(1900, 0, 1)), null, new Date(0)],
            new DateMillisecond(),
          ),
          ints: vectorFromArray([[1, 2, null], [], null, [4]], new List(item(new Int32()))),
          words: vectorFromArray([['a'], ['b', 'c'], null, []], new LargeList(item(new Utf8()))),
          pair: vectorFromArray([[1, 2], [3, null], null, [5, 6]], new FixedSizeList(2, item(new Int32()))),
          point: vectorFromArray(
            [{ x: 1, tag: 'a' }, { x: null, tag: 'b' }, null, { x: 4, tag: null }],
            new Struct([new Field('x', new Int32(), true), new Field('tag', new Utf8(), true)]),
          ),
          nothing: makeVector(makeData({ type: new Null(), length: 4 })),
        },
        { format, batchRows: 2 },
      );
      const table = await openTable(file);
      assert.equal(table.format, format === 'file' ? 'arrow-file' : 'arrow-stream');
      const types = Object.fromEntries(table.columns.map((c) => [c.name, c.arrowType]));
      assert.equal(types.cat, 'dictionary<values=string, indices=int8>');
      assert.equal(types.pair, 'fixed_size_list<item: int32>[2]');
      assert.equal(types.words, 'large_list<item: string>');

      const rows = await readRows(file);
      assert.deepEqual(
        rows.map((r) => r.row),
        [0, 1, 2, 3],
      );
      assert.ok(rows.every((r) => r.errors === undefined));
      assert.deepEqual(rows[0]!.values, {
        i8: -128,
        i16: -32768,
        i32: -2147483648,
        i64: -(2 ** 53 - 1),
        u8: 0,
        u16: 0,
        u32: 0,
        u64: 0,
        f16: 0.5,
        f32: Math.fround(0.1),
        f64: 0.1,
        flag: true,
        s: 'plain',
        ls: 'large',
        cat: 'red',
        day: '2024-02-29',
        ms_day: '2024-02-29',
        ints: [1, 2, null],
        words: ['a'],
        pair: [1, 2],
        point: { x: 1, tag: 'a' },
        nothing: null,
      });
      assert.deepEqual(rows[1]!.values, {
        i8: 127,
        i16: 32767,
        i32: 2147483647,
        i64: 2 ** 53 - 1,
        u8: 255,
        u16: 65535,
        u32: 4294967295,
        u64: 2 ** 53 - 1,
        f16: -2,
        f32: -2.5,
        f64: -1e300,
        flag: false,
        s: 'ünïcødé ✓',
        ls: 'string',
        cat: 'green',
        day: '1969-12-31',
        ms_day: '1900-01-01',
        ints: [],
        words: ['b', 'c'],
        pair: [3, null],
        point: { x: null, tag: 'b' },
        nothing: null,
      });
      assert.ok(
        Object.values(rows[2]!.values).every((v) => v === null),
        'a row of nulls is all null',
      );
      // NaN is a missing value; an empty string is not
      assert.deepEqual(
        [rows[3]!.values.f16, rows[3]!.values.f32, rows[3]!.values.f64, rows[3]!.values.s],
        [null, null, null, ''],
      );
      assert.deepEqual(rows[3]!.values.point, { x: 4, tag: null });
    });
  }

  it('timestamps of every unit, with and without a time zone, become exact ISO 8601 UTC strings', async () => {
    const file = path.join(tmp.dir, 'ts.feather');
    await writeTable(file, {
      s: timestamps(new TimestampSecond(), [1709164800n, -1n]),
      ms: timestamps(new TimestampMillisecond('UTC'), [1709164800123n, -1n]),
      us: timestamps(new TimestampMicrosecond('Europe/Paris'), [1709164800123456n, -1n]),
      ns: timestamps(new TimestampNanosecond('UTC'), [1709164800123456789n, -1n]),
      nested: vectorFromArray([['x'], null], new List(new Field('item', new Utf8(), true))),
    });
    const table = await openTable(file);
    assert.deepEqual(
      table.columns.slice(0, 4).map((c) => c.arrowType),
      ['timestamp[s]', 'timestamp[ms, tz=UTC]', 'timestamp[us, tz=Europe/Paris]', 'timestamp[ns, tz=UTC]'],
    );
    const rows = await readRows(file);
    assert.deepEqual(rows[0]!.values, {
      s: '2024-02-29T00:00:00.000Z',
      ms: '2024-02-29T00:00:00.123Z',
      us: '2024-02-29T00:00:00.123456Z', // stored as UTC whatever the zone: the instant is the same
      ns: '2024-02-29T00:00:00.123456789Z',
      nested: ['x'],
    });
    // one tick before the epoch, in each unit: negative values round towards the past
    assert.deepEqual(
      [rows[1]!.values.s, rows[1]!.values.ms, rows[1]!.values.us, rows[1]!.values.ns],
      [
        '1969-12-31T23:59:59.000Z',
        '1969-12-31T23:59:59.999Z',
        '1969-12-31T23:59:59.999999Z',
        '1969-12-31T23:59:59.999999999Z',
      ],
    );
  });

  it('a timestamp outside the JavaScript date range is a cell error, not a wrong date', () => {
    assert.throws(() => timestampToIso(10n ** 18n, TimeUnit.SECOND), CellError);
    assert.equal(timestampToIso(-62135596800n, TimeUnit.SECOND), '0001-01-01T00:00:00.000Z');
  });

  it('int64 beyond 2^53 − 1, uint64 beyond it and ±Infinity are errors naming the value, not rounded', async () => {
    const file = path.join(tmp.dir, 'overflow.feather');
    await writeTable(file, {
      big: vectorFromArray([1n, 2n ** 53n, -(2n ** 53n)], new Int64()),
      ubig: vectorFromArray([1n, 2n ** 64n - 1n, 2n], new Uint64()),
      inf: vectorFromArray([Infinity, 1, -Infinity], new Float64()),
    });
    const rows = await readRows(file);
    assert.deepEqual(rows[0]!.values, { big: 1, ubig: 1 });
    assert.match(rows[0]!.errors!.inf!, /Infinity cannot be sent as JSON/);
    assert.match(rows[1]!.errors!.big!, /^9007199254740992 does not fit a JSON number exactly/);
    assert.match(rows[1]!.errors!.ubig!, /^18446744073709551615 does not fit/);
    assert.match(rows[2]!.errors!.big!, /^-9007199254740992 does not fit/);
    assert.equal(rows[2]!.values.ubig, 2);
  });

  it('a dictionary column that is null-free in one batch and has nulls in another converts per batch', async () => {
    const file = path.join(tmp.dir, 'dict.arrows');
    await writeTable(
      file,
      { cat: vectorFromArray(['a', 'b', 'a', null, 'c'], new Dictionary(new Utf8(), new Int32())) },
      { format: 'stream', batchRows: 3 },
    );
    assert.deepEqual(
      (await readRows(file)).map((r) => r.values.cat),
      ['a', 'b', 'a', null, 'c'],
    );
  });

  it('an empty table has its columns and no rows', async () => {
    const file = path.join(tmp.dir, 'empty.feather');
    await writeTable(file, { start: vectorFromArray([], new Int64()), label: vectorFromArray([], new Utf8()) });
    const table = await openTable(file);
    assert.deepEqual(
      table.columns.map((c) => c.name),
      ['start', 'label'],
    );
    assert.deepEqual(await readRows(file), []);
  });

  it('types tasks cannot take are refused when the schema is read, each named with a pandas cast', async () => {
    const file = path.join(tmp.dir, 'unsupported.feather');
    await writeTable(file, {
      ok: vectorFromArray([1], new Int32()),
      price: makeVector(makeData({ type: new Decimal(2, 10, 128), length: 1, data: new Uint32Array(4) })),
      blob: vectorFromArray([new Uint8Array([1, 2])], new Binary()),
      at: vectorFromArray([1000], new TimeMillisecond()),
      took: makeVector(makeData({ type: new DurationSecond(), length: 1, data: new BigInt64Array([5n]) })),
      nested: vectorFromArray([[new Uint8Array([1])]], new List(new Field('item', new Binary(), true))),
    });
    const error = await openTable(file).then(
      () => assert.fail('opened a table with unsupported types'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TableError);
    const message = (error as Error).message;
    assert.match(message, /the schema has 5 problems/);
    assert.match(
      message,
      new RegExp(
        /column "price" has type decimal128\(10, 2\), which tasks cannot take; cast it in pandas before/.source +
          / writing \(e\.g\. df\["price"\] = df\["price"\]\.astype\(float\)/.source,
      ),
    );
    assert.match(message, /column "blob" has type binary/);
    assert.match(message, /column "at" has type time32\[ms\]/);
    assert.match(message, /column "took" has type duration\[s\].*total_seconds/);
    assert.match(message, /column "nested\[\]" has type binary/);
    assert.doesNotMatch(message, /"ok"/);
  });
});

describe('params: CSV cells', () => {
  it('types cells by the kind the task expects; empty cells are missing values', () => {
    assert.equal(csvValue('42', 'number'), 42);
    assert.equal(csvValue(' -1.5e3 ', 'number'), -1500);
    assert.equal(csvValue('NaN', 'number'), null);
    assert.equal(csvValue('', 'number'), null);
    assert.equal(csvValue('', 'string'), null);
    assert.equal(csvValue(' keep spaces ', 'string'), ' keep spaces ');
    assert.equal(csvValue('True', 'boolean'), true);
    assert.equal(csvValue('0', 'boolean'), false);
    assert.throws(() => csvValue('12abc', 'number'), /"12abc" is not a number/);
    assert.throws(() => csvValue('0x10', 'number'), /is not a number/);
    assert.throws(() => csvValue('1e400', 'number'), /too large/);
    assert.throws(() => csvValue('yes', 'boolean'), /"yes" is not a boolean/);
  });
});
