/**
 * Parquet parameter tables (`df.to_parquet()`: Snappy by default; ZSTD, gzip, LZ4, Brotli too),
 * read with hyparquet and its codecs: flat columns page by page (./parquetPages.ts), tables with
 * nested columns row group by row group in slices of at most 65,536 rows; memory does not grow with
 * the table. Values follow the same mapping as Arrow's (docs/params.md):
 * when pandas/pyarrow stored the Arrow schema in the file (`ARROW:schema`), column types are taken
 * from it and refused exactly as in a Feather file (durations, decimals, binary...); strings must be
 * UTF-8; int64 beyond ±2^53 − 1 is an error; timestamps become exact ISO 8601 strings in UTC.
 * Anything the reader cannot make sense of is one `TableError` naming the file.
 */
import { Field, Schema } from 'apache-arrow';
import { Message } from 'apache-arrow/ipc/metadata/message';
import { checkFlatbuffer, MESSAGE } from './arrow/flatbufferCheck';
import { open } from 'node:fs/promises';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { gunzipSync } from 'node:zlib';
import { TimeUnit } from 'apache-arrow';
import { UnsupportedTypeError } from './arrowTypeNames';
import { compileColumn } from './convert';
import { CellError, JsonValue, msToDate, timestampToIso } from './jsonValue';
import { DEFAULT_CHUNK_ROWS, fail, FORMAT_NAMES, ParamTable, TableColumn, TableError, TableRow } from './tableFile';
import { allColumnsFlat, ColumnPages } from './parquetPages';

/**
 * The codecs, with GZIP through Node's zlib, which checks each gzip member's CRC-32 and length: a
 * damaged gzip page is an error, where the pure-JS inflater returned other bytes, and hyparquet's
 * decoders can spend billions of steps on a page whose header bytes changed (found by the fuzz run).
 */
const CODECS: typeof compressors = {
  ...compressors,
  GZIP: (input: Uint8Array, outputLength: number) => {
    const output = gunzipSync(input, { maxOutputLength: Math.max(1, outputLength) });
    if (output.length !== outputLength) {
      throw new Error(`a GZIP page decompressed to ${output.length} bytes where its header says ${outputLength}`);
    }
    return output;
  },
};

/** Rows decoded at once: a row group can hold a million rows; a slice of it is what sits in memory. */
const SLICE_ROWS = 65_536;

/** hyparquet's random access to the file: one read per slice it asks for, the handle opened per read. */
async function asyncBufferFromFile(file: string): Promise<AsyncBuffer> {
  const handle = await open(file, 'r');
  let size: number;
  try {
    size = (await handle.stat()).size;
  } finally {
    await handle.close();
  }
  return {
    byteLength: size,
    slice(start: number, end?: number): Promise<ArrayBuffer> {
      const read = readRange(file, size, start, end);
      // hyparquet prefetches every range of a row group at once and may stop at the first failure
      // without awaiting the rest: a damaged file's second bad range must not be an unhandled
      // rejection (it ended the process). The caller awaiting this promise still gets the error.
      read.catch(() => undefined);
      return read;
    },
  };
}

async function readRange(file: string, size: number, start: number, end?: number): Promise<ArrayBuffer> {
  const stop = Math.min(size, end ?? size);
  if (!(start >= 0 && start <= stop)) throw new Error(`a read of bytes ${start}–${end} outside the file's ${size}`);
  const bytes = new Uint8Array(stop - start);
  const reader = await open(file, 'r');
  try {
    const { bytesRead } = await reader.read(bytes, 0, bytes.length, start);
    if (bytesRead !== bytes.length) throw new Error(`the file ended at byte ${start + bytesRead}`);
  } finally {
    await reader.close();
  }
  return bytes.buffer;
}

/** A string cell whose bytes are not UTF-8: kept as a marker so the row, not the file, reports it. */
class NotUtf8 {
  constructor(readonly bytes: Uint8Array) {}
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** hyparquet's value parsers, replaced so no precision is lost and no byte becomes U+FFFD. */
const PARSERS = {
  timestampFromMilliseconds: (ms: bigint) => timestampToIso(BigInt(ms), TimeUnit.MILLISECOND),
  timestampFromMicroseconds: (us: bigint) => timestampToIso(BigInt(us), TimeUnit.MICROSECOND),
  timestampFromNanoseconds: (ns: bigint) => timestampToIso(BigInt(ns), TimeUnit.NANOSECOND),
  dateFromDays: (days: number) => msToDate(days * 86_400_000),
  stringFromBytes: (bytes: Uint8Array | undefined) => {
    if (bytes === undefined || bytes === null) return bytes;
    try {
      return STRICT_UTF8.decode(bytes);
    } catch {
      return new NotUtf8(bytes);
    }
  },
};

function hex(bytes: Uint8Array): string {
  return (
    [...bytes.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ') + (bytes.length > 16 ? ' ...' : '')
  );
}

/** One decoded value → JSON, by the same rules as Arrow values. */
function toJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isNaN(value)) return null;
      if (!Number.isFinite(value))
        throw new CellError(`${value} cannot be sent as JSON; replace infinities before writing`);
      return value;
    case 'bigint':
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
        throw new CellError(
          `${value} does not fit a JSON number exactly (the limit is ±${Number.MAX_SAFE_INTEGER}, 2^53 − 1); ` +
            'store it as a string column (df[col].astype(str)) if the task needs every digit',
        );
      return Number(value);
  }
  if (value instanceof NotUtf8)
    throw new CellError(`its bytes are not UTF-8 (${hex(value.bytes)}); store text as UTF-8 strings`);
  if (Array.isArray(value)) return value.map(toJson);
  if (value instanceof Uint8Array) throw new CellError('it holds raw bytes, which tasks cannot take');
  if (value instanceof Date) throw new CellError('it holds a date hyparquet could not keep exact');
  if (typeof value === 'object') {
    const object: { [key: string]: JsonValue } = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) object[key] = toJson(item);
    return object;
  }
  throw new CellError(`it holds a value of kind ${typeof value}`);
}

/** The Arrow schema pyarrow stores in the file's metadata (base64 of an IPC schema message), if any. */
function storedArrowSchema(metadata: FileMetaData): Schema | undefined {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === 'ARROW:schema');
  if (!entry?.value) return undefined;
  const damaged = (why: string): never => {
    throw new Error(`the Arrow schema pyarrow stored in it (ARROW:schema) is damaged: ${why}`);
  };
  const bytes = Buffer.from(entry.value, 'base64');
  if (bytes.length < 8) damaged(`it is ${bytes.length} bytes`);
  const start = bytes.readUInt32LE(0) === 0xffffffff ? 8 : 4;
  const message = bytes.subarray(start);
  try {
    // apache-arrow's flatbuffer readers trust every length: check them first (see arrow/flatbufferCheck.ts)
    checkFlatbuffer(message, MESSAGE);
  } catch (error) {
    damaged((error as Error).message);
  }
  const decoded = Message.decode(message);
  if (!decoded.isSchema()) damaged('it is not a schema message');
  const schema = decoded.header() as Schema;
  if (schema.fields.some((f) => f.name.includes('\ufffd'))) damaged('a column name is not UTF-8');
  return schema;
}

/** The JSON type of a Parquet column without an Arrow schema, or why tasks cannot take it. */
function describeParquet(node: SchemaTree): { type: string; json: string } | { refuse: string } {
  const e = node.element;
  const logical = e.logical_type?.type;
  const converted = e.converted_type;
  if (node.children.length > 0) {
    if (logical === 'MAP' || converted === 'MAP' || converted === 'MAP_KEY_VALUE') return { refuse: 'map' };
    if (logical === 'LIST' || converted === 'LIST') return { type: 'list', json: 'array' };
    return { type: 'struct', json: 'object' };
  }
  switch (e.type) {
    case 'BOOLEAN':
      return { type: 'boolean', json: 'boolean' };
    case 'INT32':
    case 'INT64':
      if (logical === 'DECIMAL' || converted === 'DECIMAL') return { refuse: 'decimal' };
      if (logical === 'TIME' || converted === 'TIME_MILLIS' || converted === 'TIME_MICROS') return { refuse: 'time' };
      if (logical === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS')
        return { type: 'timestamp', json: 'string (ISO 8601, UTC)' };
      if (logical === 'DATE' || converted === 'DATE') return { type: 'date', json: 'string (YYYY-MM-DD)' };
      return { type: e.type.toLowerCase(), json: e.type === 'INT64' ? 'number (exact up to ±2^53 − 1)' : 'number' };
    case 'FLOAT':
    case 'DOUBLE':
      return { type: e.type.toLowerCase(), json: 'number (NaN → null)' };
    case 'BYTE_ARRAY':
      if (logical === 'STRING' || logical === 'ENUM' || converted === 'UTF8' || converted === 'ENUM')
        return { type: 'string', json: 'string' };
      return { refuse: 'binary' };
    default:
      return { refuse: (e.type ?? 'unknown').toLowerCase() };
  }
}

/** The schema's leaf columns as dotted paths (`a`, `list.list.element`), as column chunks name them. */
function leafPaths(node: SchemaTree, prefix: string[] = []): string[] {
  if (node.children.length === 0) return [prefix.join('.')];
  return node.children.flatMap((child) => leafPaths(child, [...prefix, child.element.name]));
}

/**
 * Every row group must hold one column chunk per leaf of the schema, each naming a different leaf.
 * hyparquet starts every chunk's read before it resolves the next chunk's path: a chunk naming no
 * leaf throws half-way, and one naming a leaf twice is never awaited; either leaves reads running
 * after the error, whose own failures then end the process (found by the fuzz run).
 */
function checkColumnChunks(file: string, metadata: FileMetaData): void {
  const leaves = leafPaths(parquetSchema(metadata));
  const expected = [...leaves].sort().join('\u0000');
  for (const [g, group] of metadata.row_groups.entries()) {
    const paths = group.columns.map((chunk) => (chunk.meta_data?.path_in_schema ?? []).join('.'));
    if ([...paths].sort().join('\u0000') === expected) continue;
    const unknown = paths.find((p) => !leaves.includes(p));
    const twice = paths.find((p, i) => paths.indexOf(p) !== i);
    const what =
      unknown !== undefined
        ? `names column "${unknown}", which its schema does not have`
        : twice !== undefined
          ? `holds column "${twice}" twice`
          : `holds ${paths.length} column chunks for the schema's ${leaves.length} columns`;
    throw fail(file, `row group ${g} ${what}`, 'the file is damaged; write it again');
  }
}

function columnsOf(file: string, metadata: FileMetaData): TableColumn[] {
  const tree = parquetSchema(metadata);
  const arrow = storedArrowSchema(metadata);
  const problems: string[] = [];
  const columns: TableColumn[] = [];
  const seen = new Set<string>();
  if (arrow) {
    const parquetNames = tree.children.map((node) => node.element.name).join('\u0000');
    const arrowNames = arrow.fields.map((f) => f.name).join('\u0000');
    if (parquetNames !== arrowNames)
      throw fail(
        file,
        'its Parquet schema and the Arrow schema stored with it name different columns',
        'the file is damaged; write it again',
      );
  }
  for (const node of tree.children) {
    const name = node.element.name;
    // hyparquet decodes names leniently: bytes that are not UTF-8 come out as U+FFFD
    if (name.includes('\ufffd'))
      throw fail(file, `the name of column "${name}" is not UTF-8`, 'the file is damaged; write it again');
    if (seen.has(name)) problems.push(`column "${name}" appears twice`);
    seen.add(name);
    const field: Field | undefined = arrow?.fields.find((f) => f.name === name);
    if (field) {
      try {
        const compiled = compileColumn(field);
        columns.push({ name, arrowType: compiled.arrowType, jsonType: compiled.jsonType });
      } catch (error) {
        if (!(error instanceof UnsupportedTypeError)) throw error;
        problems.push(error.message);
      }
      continue;
    }
    const described = describeParquet(node);
    if ('refuse' in described)
      problems.push(
        `column "${name}" has Parquet type ${described.refuse}, which tasks cannot take; cast it in pandas before ` +
          `writing (e.g. df[${JSON.stringify(name)}] = df[${JSON.stringify(name)}].astype(str))`,
      );
    else columns.push({ name, arrowType: `parquet ${described.type}`, jsonType: described.json });
  }
  if (problems.length > 0)
    throw new TableError(
      `${file}: ` +
        (problems.length === 1
          ? problems[0]
          : `the schema has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`),
    );
  return columns;
}

function parquetError(file: string, error: unknown): TableError {
  if (error instanceof TableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return fail(
    file,
    `cannot be decoded as Parquet: ${message}`,
    'the file is damaged or was not written by a Parquet writer; copy or write it again (df.to_parquet(path))',
  );
}

export async function openParquetTable(file: string): Promise<ParamTable> {
  let metadata: FileMetaData;
  let columns: TableColumn[];
  try {
    metadata = await parquetMetadataAsync(await asyncBufferFromFile(file), { parsers: PARSERS });
    columns = columnsOf(file, metadata);
    checkColumnChunks(file, metadata);
    const groupRows = metadata.row_groups.reduce((sum, group) => sum + Number(group.num_rows), 0);
    if (BigInt(groupRows) !== BigInt(metadata.num_rows))
      throw fail(
        file,
        `its row groups hold ${groupRows} rows where its footer says ${metadata.num_rows}`,
        'write it again',
      );
  } catch (error) {
    throw parquetError(file, error);
  }
  const names = columns.map((c) => c.name);

  /** One decoded row → its JSON values, or the row's cell errors. */
  function tableRow(row: number, cell: (name: string) => unknown): TableRow {
    const values: Record<string, JsonValue> = {};
    let errors: Record<string, string> | undefined;
    for (const name of names) {
      try {
        values[name] = toJson(cell(name));
      } catch (error) {
        if (!(error instanceof CellError)) throw parquetError(file, error);
        (errors ??= {})[name] = error.message;
      }
    }
    return errors ? { row, values, errors } : { row, values };
  }

  /**
   * Flat columns (every pandas table): page by page, each column chunk read and its dictionary
   * decoded once per row group; memory holds one decoded page per column.
   */
  async function* pageRows(chunkSize: number): AsyncGenerator<TableRow[]> {
    const source = await asyncBufferFromFile(file);
    const tree = parquetSchema(metadata);
    let row = 0;
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      let columns: ColumnPages[];
      try {
        columns = await Promise.all(
          names.map((name) => {
            const chunk = group.columns.find((c) => c.meta_data?.path_in_schema[0] === name)!;
            return ColumnPages.open(source, tree, chunk, groupRows, { compressors: CODECS, parsers: PARSERS });
          }),
        );
      } catch (error) {
        throw parquetError(file, error);
      }
      for (let offset = 0; offset < groupRows; offset += chunkSize) {
        const n = Math.min(chunkSize, groupRows - offset);
        let cells: Map<string, unknown[]>;
        try {
          cells = new Map(columns.map((column, i) => [names[i]!, column.take(n)]));
        } catch (error) {
          throw parquetError(file, error);
        }
        const chunk: TableRow[] = [];
        for (let i = 0; i < n; i++) chunk.push(tableRow(row++, (name) => cells.get(name)![i]));
        yield chunk;
      }
    }
  }

  /** Nested columns: hyparquet assembles rows, in slices of at most SLICE_ROWS. */
  async function* sliceRows(chunkSize: number): AsyncGenerator<TableRow[]> {
    const source = await asyncBufferFromFile(file);
    const total = Number(metadata.num_rows);
    let row = 0;
    for (let start = 0; start < total; start += SLICE_ROWS) {
      const end = Math.min(total, start + SLICE_ROWS);
      let objects: Array<Record<string, unknown>>;
      try {
        objects = await parquetReadObjects({
          file: source,
          metadata,
          columns: names,
          rowStart: start,
          rowEnd: end,
          compressors: CODECS,
          parsers: PARSERS,
        });
      } catch (error) {
        throw parquetError(file, error);
      }
      if (objects.length !== end - start)
        throw fail(
          file,
          `rows ${start}–${end - 1} decoded to ${objects.length} rows`,
          'the file is damaged; write it again',
        );
      for (let offset = 0; offset < objects.length; offset += chunkSize) {
        const chunk: TableRow[] = [];
        for (const object of objects.slice(offset, offset + chunkSize)) chunk.push(tableRow(row++, (n) => object[n]));
        yield chunk;
      }
    }
  }

  const flat = allColumnsFlat(parquetSchema(metadata));
  const rows = (chunkSize = DEFAULT_CHUNK_ROWS): AsyncGenerator<TableRow[]> =>
    flat ? pageRows(chunkSize) : sliceRows(chunkSize);

  return { file, format: 'parquet', formatName: FORMAT_NAMES.parquet, columns, rows };
}
