/**
 * Tables written by real pandas/pyarrow (test/fixtures/pandas, made by test/python/make_pandas_fixtures.py):
 * Feather (LZ4) and Parquet (Snappy, ZSTD, gzip with several row groups) decode, value for value,
 * to what the documented mapping says — computed in Python from the same DataFrame.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openTable, TableError } from '../lib/params/readTable';
import { useTempDir } from './support/arrow-tables';

const PANDAS = path.join(__dirname, 'fixtures', 'pandas');
const expected = JSON.parse(readFileSync(path.join(PANDAS, 'small.expected.json'), 'utf8')) as unknown[];

describe('params: tables written by pandas (Feather and Parquet)', () => {
  const tmp = useTempDir('pandas-');

  for (const [name, format] of [
    ['small_lz4.feather', 'arrow-file'],
    ['small_snappy.parquet', 'parquet'],
    ['small_zstd.parquet', 'parquet'],
    ['small_gzip.parquet', 'parquet'],
  ] as const) {
    it(`${name}: every value is what the mapping says pandas holds`, async () => {
      const table = await openTable(path.join(PANDAS, name));
      assert.equal(table.format, format);
      const rows = [];
      for await (const chunk of table.rows(2)) rows.push(...chunk);
      assert.deepEqual(
        rows.map((r) => r.row),
        [0, 1, 2, 3, 4],
      );
      assert.ok(
        rows.every((r) => r.errors === undefined),
        JSON.stringify(rows.find((r) => r.errors)),
      );
      assert.deepEqual(
        rows.map((r) => r.values),
        expected,
      );
      assert.equal(table.columns.find((c) => c.name === 'when')?.arrowType, 'timestamp[ns]');
    });
  }

  it('a Parquet file that is damaged inside is one TableError naming it', async () => {
    const bytes = readFileSync(path.join(PANDAS, 'small_snappy.parquet'));
    const file = path.join(tmp.dir, 'damaged.parquet');
    // the footer's length field (4 bytes before the closing PAR1) pointing past the file's start
    bytes.writeUInt32LE(bytes.length * 2, bytes.length - 8);
    writeFileSync(file, bytes);
    await assert.rejects(openTable(file), (error: unknown) => {
      assert.ok(error instanceof TableError);
      assert.match(error.message, /damaged\.parquet: cannot be decoded as Parquet: .*\n  fix: /);
      return true;
    });
  });
});
