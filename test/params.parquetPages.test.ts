/**
 * Parquet read page by page (lib/params/parquetPages.ts): a pandas file with several row groups,
 * pages of a few hundred rows, a dictionary that falls back to plain pages half-way, and nulls in
 * every column decodes to exactly the values pandas wrote, row for row and in order.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { openTable } from '../lib/params/readTable';
import { useTempDir } from './support/arrow-tables';
import { requireToolOrSkip, runPython } from './support/tools';

const ROWS = 50_000;

const WRITE = `
import sys
import pandas as pd
n = ${ROWS}
df = pd.DataFrame({
    'id': pd.array([None if i % 7 == 0 else i * 3 for i in range(n)], dtype='Int64'),
    'name': [None if i % 11 == 0 else (f'name-{i}' if i % 2 else 'même') for i in range(n)],
    'x': [float('nan') if i % 13 == 0 else i / 8 for i in range(n)],
    'flag': [i % 3 == 0 for i in range(n)],
})
df.to_parquet(sys.argv[1], row_group_size=18_000, data_page_size=4096, dictionary_pagesize_limit=16_384)
`;

function expected(i: number): Record<string, unknown> {
  return {
    id: i % 7 === 0 ? null : i * 3,
    name: i % 11 === 0 ? null : i % 2 ? `name-${i}` : 'même',
    x: i % 13 === 0 ? null : i / 8,
    flag: i % 3 === 0,
  };
}

describe('params: Parquet read page by page', function () {
  this.timeout(120_000);
  const tmp = useTempDir('parquet-pages-');

  it('row groups, small pages, dictionary fallback and nulls: every value as pandas wrote it', async function () {
    requireToolOrSkip(this, 'python');
    const file = path.join(tmp.dir, 'pages.parquet');
    await runPython(WRITE, [file]);
    const table = await openTable(file);
    assert.equal(table.format, 'parquet');
    let next = 0;
    // a chunk size that straddles pages and row groups
    for await (const chunk of table.rows(777)) {
      for (const row of chunk) {
        assert.equal(row.row, next);
        assert.equal(row.errors, undefined, JSON.stringify(row));
        assert.deepEqual(row.values, expected(next), `row ${next}`);
        next++;
      }
    }
    assert.equal(next, ROWS);
  });
});
