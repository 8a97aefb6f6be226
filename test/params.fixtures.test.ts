/**
 * Files written by other Arrow implementations (Arrow C++ — what pyarrow and pandas call — and R's
 * arrow package), LZ4_FRAME, ZSTD and uncompressed, file and stream formats: every value must decode
 * to what the writer's own JSON description says.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { JsonValue } from '../lib/params/jsonValue';
import { openTable, TableRow } from '../lib/params/readTable';

const FIXTURES = path.join(__dirname, 'fixtures', 'arrow');
const fixture = (name: string) => path.join(FIXTURES, name);

interface IntegrationField {
  readonly name: string;
  readonly type: { readonly name: string; readonly bitWidth?: number; readonly precision?: string };
}
interface IntegrationColumn {
  readonly name: string;
  readonly VALIDITY: number[];
  readonly DATA: Array<string | number | boolean>;
}
interface IntegrationJson {
  readonly schema: { readonly fields: IntegrationField[] };
  readonly batches: Array<{ readonly count: number; readonly columns: IntegrationColumn[] }>;
}

/** The expected rows from Arrow's integration JSON, mapped the way docs/params.md says. */
function expectedRows(jsonFile: string): Array<Record<string, JsonValue>> {
  const json = JSON.parse(gunzipSync(readFileSync(fixture(jsonFile))).toString('utf8')) as IntegrationJson;
  const types = new Map(json.schema.fields.map((f) => [f.name, f.type]));
  const rows: Array<Record<string, JsonValue>> = [];
  for (const batch of json.batches) {
    for (let i = 0; i < batch.count; i++) {
      const row: Record<string, JsonValue> = {};
      for (const column of batch.columns) {
        const type = types.get(column.name)!;
        const raw = column.DATA[i]!;
        let value: JsonValue;
        if (column.VALIDITY[i] === 0) value = null;
        else if (type.name === 'int')
          value = Number(raw); // 64-bit values are strings in this JSON
        else if (type.name === 'floatingpoint' && type.precision === 'SINGLE') value = Math.fround(Number(raw));
        else value = raw as JsonValue;
        row[column.name] = value;
      }
      rows.push(row);
    }
  }
  return rows;
}

async function readAll(file: string): Promise<{ rows: TableRow[]; format: string; types: string[] }> {
  const table = await openTable(file);
  const rows: TableRow[] = [];
  for await (const chunk of table.rows(7)) rows.push(...chunk); // small chunks: cross batch boundaries
  return { rows, format: table.format, types: table.columns.map((c) => `${c.name}:${c.arrowType}`) };
}

describe('params: files written by Arrow C++ and R', () => {
  for (const [file, json, format] of [
    ['generated_lz4.arrow_file', 'generated_lz4.json.gz', 'arrow-file'],
    ['generated_lz4.stream', 'generated_lz4.json.gz', 'arrow-stream'],
    ['generated_zstd.arrow_file', 'generated_zstd.json.gz', 'arrow-file'],
    ['generated_zstd.stream', 'generated_zstd.json.gz', 'arrow-stream'],
    ['generated_primitive.arrow_file', 'generated_primitive.json.gz', 'arrow-file'],
  ] as const) {
    it(`${file}: every value equals the writer's JSON`, async () => {
      const { rows, format: found } = await readAll(fixture(file));
      assert.equal(found, format);
      const expected = expectedRows(json);
      assert.equal(rows.length, expected.length);
      rows.forEach((row, i) => {
        assert.equal(row.row, i, 'rows are numbered from 0 across batches');
        assert.equal(row.errors, undefined, `row ${i} converts without errors`);
        assert.deepEqual(row.values, expected[i], `row ${i}`);
      });
    });
  }

  it('generated_primitive covers every integer width, both signs, floats and bools with nulls', async () => {
    const { types, rows } = await readAll(fixture('generated_primitive.arrow_file'));
    for (const t of [
      'int8',
      'int16',
      'int32',
      'int64',
      'uint8',
      'uint16',
      'uint32',
      'uint64',
      'float32',
      'float64',
      'bool',
    ]) {
      assert.ok(types.includes(`${t}_nullable:${t}`), `has a ${t} column`);
    }
    assert.ok(
      rows.some((r) => r.values.int64_nullable === null),
      'nulls come through as null',
    );
    assert.ok(
      rows.some((r) => r.values.int64_nonnullable === -2147483648),
      'negative int64 converts',
    );
  });

  it('the three R feather files (LZ4, ZSTD, uncompressed) decode identically, struct column included', async () => {
    const names = ['lz4', 'zstd', 'uncompressed'].map((c) =>
      fixture(`r_tests_testthat_golden-files_data-arrow_2.0.0_${c}.feather`),
    );
    const [lz4, zstd, plain] = await Promise.all(names.map(readAll));
    assert.deepEqual(lz4!.types, [
      'a:string',
      'b:float64',
      'c:struct<c1: string, c2: float64, c3: float64>',
      'd:string',
    ]);
    assert.ok(plain!.rows.length > 0);
    assert.deepEqual(lz4!.rows, plain!.rows);
    assert.deepEqual(zstd!.rows, plain!.rows);
    const first = plain!.rows[0]!.values;
    assert.equal(typeof first.a, 'string');
    assert.equal(typeof (first.c as Record<string, JsonValue>).c1, 'string');
  });
});
