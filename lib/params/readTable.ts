/**
 * Opens a parameter table and streams its rows as JSON values, a chunk at a time, in table order.
 *
 * Formats are recognised by their first bytes, never trusted from the extension alone:
 *   - Arrow IPC file = Feather V2 (`ARROW1`): what pandas `to_feather`, pyarrow and R's arrow write,
 *     LZ4- or ZSTD-compressed or not; read record batch by record batch through a file handle;
 *   - Arrow IPC stream (starts with the 0xFFFFFFFF continuation marker);
 *   - CSV, by the `.csv` extension, for hand-made tables (values typed by the task's schema);
 *   - Feather V1 (`FEA1`) and Parquet (`PAR1`) are recognised only to say how to convert them.
 * Every failure is a `TableError` naming the file and what to do.
 */
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  AsyncRecordBatchFileReader,
  AsyncRecordBatchStreamReader,
  RecordBatch,
  RecordBatchReader,
  Schema,
} from 'apache-arrow';
import { parse as parseCsv, CsvError } from 'csv-parse';
import { UserError } from '../errors';
import { CorruptBufferError } from './codecs'; // importing it registers the LZ4/ZSTD decoders
import { CellError, compileColumn, CompiledColumn, JsonValue, UnsupportedTypeError } from './convert';

export type TableFormat = 'arrow-file' | 'arrow-stream' | 'csv';

const FORMAT_NAMES: Record<TableFormat, string> = {
  'arrow-file': 'Arrow IPC file / Feather V2',
  'arrow-stream': 'Arrow IPC stream',
  csv: 'CSV',
};

/** How a CSV cell is typed: the task schema says what each column should hold. */
export type CsvKind = 'number' | 'boolean' | 'string';

export interface TableColumn {
  readonly name: string;
  /** As pyarrow prints it (`int64`, `timestamp[us, tz=UTC]`), or `text` for CSV. */
  readonly arrowType: string;
  /** What a task receives. */
  readonly jsonType: string;
}

/** Where a row is, for messages: `row` is 0-based as pandas shows it; CSV rows also carry their line. */
export interface RowPlace {
  readonly row: number;
  /** CSV only: 1-based line in the file (the header is line 1). */
  readonly line?: number;
}

export interface TableRow extends RowPlace {
  /** Converted values, one per column; a value that failed to convert is absent and listed in `errors`. */
  readonly values: Record<string, JsonValue>;
  /** Column → why its value could not be converted (`(row)` for problems with the row as a whole). */
  readonly errors?: Readonly<Record<string, string>>;
}

export interface ParamTable {
  readonly file: string;
  readonly format: TableFormat;
  readonly formatName: string;
  readonly columns: readonly TableColumn[];
  /**
   * Streams the rows in table order in chunks of at most `chunkSize`. Each call reads the file
   * again from the start, so a caller can check everything first and insert in a second pass.
   */
  rows(chunkSize?: number): AsyncGenerator<TableRow[]>;
}

export interface OpenTableOptions {
  /** For CSV: how to type each column's text (columns not listed stay strings). */
  readonly csvKinds?: Readonly<Record<string, CsvKind>>;
}

/** A table that cannot be read; the message names the file and says what to do. */
export class TableError extends UserError {}

export const DEFAULT_CHUNK_ROWS = 2000;
/** The pseudo-column that row-level problems are reported under. */
export const ROW_PROBLEM = '(row)';

const ARROW_MAGIC = Buffer.from('ARROW1');
const FEATHER_V1_MAGIC = Buffer.from('FEA1');
const PARQUET_MAGIC = Buffer.from('PAR1');
const CONTINUATION = Buffer.from([0xff, 0xff, 0xff, 0xff]);
/** The stream's end-of-stream marker: continuation + zero metadata length. */
const STREAM_EOS = Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);

const RESAVE =
  'in Python: df = pandas.read_feather(old) (or pyarrow), then df.to_feather(path) with pandas >= 1.1 / pyarrow (Feather V2)';

function fail(file: string, problem: string, fix: string): TableError {
  return new TableError(`${file}: ${problem}\n  fix: ${fix}`);
}

function showBytes(bytes: Buffer): string {
  const printable = [...bytes].every((b) => b >= 0x20 && b < 0x7f);
  return printable
    ? JSON.stringify(bytes.toString('latin1'))
    : [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Checks the path is a readable, non-empty regular file and recognises its format. */
async function sniff(file: string): Promise<TableFormat> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    throw openError(file, error as NodeJS.ErrnoException);
  }
  if (info.isDirectory())
    throw fail(file, 'is a directory, not a table file', 'name the .feather, .arrow or .csv file inside it');
  if (!info.isFile())
    throw fail(
      file,
      'is not a regular file (a pipe, socket or device cannot be read twice)',
      'write the table to a file and name that',
    );
  if (info.size === 0)
    throw fail(file, 'is empty (0 bytes)', 'write the table again, e.g. df.to_feather(path) in pandas');

  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw openError(file, error as NodeJS.ErrnoException);
  }
  try {
    const head = await readAt(handle, 0, 8);
    if (head.subarray(0, 6).equals(ARROW_MAGIC)) {
      const tail = await readAt(handle, Math.max(0, info.size - 6), 6);
      if (info.size < 12 || !tail.equals(ARROW_MAGIC)) {
        throw fail(
          file,
          `is cut short: it starts like an Arrow IPC file but its ${info.size} bytes end without the closing ARROW1 footer`,
          'copy or write it again; the write was probably interrupted',
        );
      }
      return 'arrow-file';
    }
    if (head.subarray(0, 4).equals(FEATHER_V1_MAGIC)) {
      throw fail(
        file,
        'is a Feather V1 file (written by pandas < 1.1 or feather-format), which this reader cannot decode faithfully',
        `re-save it as Feather V2 with pandas >= 1.1 / pyarrow: ${RESAVE}`,
      );
    }
    if (head.subarray(0, 4).equals(PARQUET_MAGIC)) {
      throw fail(
        file,
        'is a Parquet file, not Feather/Arrow',
        'in Python: pandas.read_parquet(file).to_feather(path), then use that file',
      );
    }
    if (head.subarray(0, 4).equals(CONTINUATION)) {
      const tail = await readAt(handle, Math.max(0, info.size - 8), 8);
      if (!tail.equals(STREAM_EOS)) {
        throw fail(
          file,
          'is cut short: it is an Arrow IPC stream without the end-of-stream marker',
          'copy or write it again; the write was probably interrupted',
        );
      }
      return 'arrow-stream';
    }
    if (path.extname(file).toLowerCase() === '.csv') return 'csv';
    throw fail(
      file,
      `is not an Arrow/Feather file: it starts with ${showBytes(head)}, where Feather V2 starts with "ARROW1"`,
      'write the table with df.to_feather(path) in pandas (or pyarrow.feather.write_feather), or give a CSV file a .csv name',
    );
  } finally {
    await handle.close();
  }
}

function openError(file: string, error: NodeJS.ErrnoException): TableError {
  switch (error.code) {
    case 'ENOENT':
      return fail(
        file,
        'does not exist',
        "check the name (TASK_PARAMETER_FILENAME in config/task.env, or --params FILE); `npm run example:params` writes the example task's table",
      );
    case 'ENOTDIR':
      return fail(
        file,
        'cannot be opened: a folder in its path is a file',
        'check the path (TASK_PARAMETER_FILENAME or --params FILE)',
      );
    case 'EACCES':
    case 'EPERM':
      return fail(
        file,
        `cannot be read: permission denied (${error.code})`,
        `make it readable (ls -l ${file}; chmod a+r ${file}) or run as its owner`,
      );
    default:
      return fail(
        file,
        `cannot be opened (${error.code ?? error.message})`,
        'check the path and that the file is readable',
      );
  }
}

/** Turns an error from apache-arrow into one that says what is wrong with the file. */
function decodeError(file: string, format: TableFormat, error: unknown, batch?: number): TableError {
  if (error instanceof TableError) return error;
  const where = batch === undefined ? '' : ` (record batch ${batch})`;
  const message = error instanceof Error ? error.message : String(error);
  if (/codec not found/i.test(message)) {
    return fail(
      file,
      `uses a compression codec this reader does not know${where}; it decodes LZ4_FRAME and ZSTD (pandas, pyarrow and R write those)`,
      'write it again with compression="lz4", "zstd" or "uncompressed"',
    );
  }
  if (error instanceof CorruptBufferError) {
    return fail(file, `is damaged: ${message}${where}`, 'copy or write it again');
  }
  return fail(
    file,
    `cannot be decoded as ${FORMAT_NAMES[format]}${where}: ${message}`,
    'the file is damaged or was not written by an Arrow writer; write it again with df.to_feather(path)',
  );
}

type ArrowReader = AsyncRecordBatchFileReader | AsyncRecordBatchStreamReader;

async function openArrow(
  file: string,
  format: TableFormat,
): Promise<{ reader: ArrowReader; done: () => Promise<void> }> {
  if (format === 'arrow-file') {
    const handle = await open(file, 'r');
    try {
      const reader = (await RecordBatchReader.from(handle)) as AsyncRecordBatchFileReader;
      await reader.open();
      return {
        reader,
        done: async () => {
          await reader.cancel();
          await handle.close();
        },
      };
    } catch (error) {
      await handle.close();
      throw decodeError(file, format, error);
    }
  }
  const stream = createReadStream(file);
  try {
    const reader = (await RecordBatchReader.from(stream)) as AsyncRecordBatchStreamReader;
    await reader.open();
    return {
      reader,
      done: async () => {
        await reader.cancel();
        stream.destroy();
      },
    };
  } catch (error) {
    stream.destroy();
    throw decodeError(file, format, error);
  }
}

function compileSchema(file: string, schema: Schema): CompiledColumn[] {
  const seen = new Set<string>();
  const problems: string[] = [];
  const columns: CompiledColumn[] = [];
  for (const field of schema.fields) {
    if (seen.has(field.name)) problems.push(`column "${field.name}" appears twice`);
    seen.add(field.name);
    try {
      columns.push(compileColumn(field));
    } catch (error) {
      if (!(error instanceof UnsupportedTypeError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) {
    throw new TableError(
      `${file}: ${problems.length === 1 ? problems[0] : `the schema has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`}`,
    );
  }
  return columns;
}

function sameSchema(a: Schema, b: Schema): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => f.name === b.fields[i]!.name && String(f.type) === String(b.fields[i]!.type))
  );
}

function convertRow(
  readers: ReadonlyArray<{ name: string; read: (index: number) => JsonValue }>,
  index: number,
  place: RowPlace,
): TableRow {
  const values: Record<string, JsonValue> = {};
  let errors: Record<string, string> | undefined;
  for (const { name, read } of readers) {
    try {
      values[name] = read(index);
    } catch (error) {
      if (!(error instanceof CellError)) throw error;
      (errors ??= {})[name] = error.message;
    }
  }
  return errors ? { ...place, values, errors } : { ...place, values };
}

async function openArrowTable(file: string, format: TableFormat): Promise<ParamTable> {
  const first = await openArrow(file, format);
  const schema = first.reader.schema;
  await first.done();
  const compiled = compileSchema(file, schema);

  async function* rows(chunkSize = DEFAULT_CHUNK_ROWS): AsyncGenerator<TableRow[]> {
    const { reader, done } = await openArrow(file, format);
    let batchIndex = 0;
    try {
      if (!sameSchema(reader.schema, schema))
        throw fail(
          file,
          'changed while it was being read (its columns are different now)',
          'do not rewrite the table while inserting; run the command again',
        );
      let firstRow = 0;
      const iterator = reader[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<RecordBatch>;
        try {
          next = await iterator.next();
        } catch (error) {
          throw decodeError(file, format, error, batchIndex);
        }
        if (next.done) break;
        const batch = next.value;
        let readers;
        try {
          readers = compiled.map((column, j) => ({ name: column.name, read: column.bind(batch.data.children[j]!) }));
        } catch (error) {
          throw error instanceof CellError
            ? fail(file, `${error.message} (record batch ${batchIndex})`, 'write it again')
            : error;
        }
        for (let start = 0; start < batch.numRows; start += chunkSize) {
          const end = Math.min(batch.numRows, start + chunkSize);
          const chunk: TableRow[] = new Array(end - start);
          for (let i = start; i < end; i++) chunk[i - start] = convertRow(readers, i, { row: firstRow + i });
          yield chunk;
        }
        firstRow += batch.numRows;
        batchIndex++;
      }
    } finally {
      await done();
    }
  }

  return {
    file,
    format,
    formatName: FORMAT_NAMES[format],
    columns: compiled.map(({ name, arrowType, jsonType }) => ({ name, arrowType, jsonType })),
    rows,
  };
}

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Types one CSV cell; an empty cell is a missing value (null), as pandas reads it. */
export function csvValue(text: string, kind: CsvKind): JsonValue {
  if (text === '') return null;
  switch (kind) {
    case 'string':
      return text;
    case 'number': {
      const trimmed = text.trim();
      if (/^nan$/i.test(trimmed)) return null;
      if (!NUMBER_TEXT.test(trimmed)) throw new CellError(`${JSON.stringify(text)} is not a number`);
      const value = Number(trimmed);
      if (!Number.isFinite(value)) throw new CellError(`${JSON.stringify(text)} is too large for a number`);
      return value;
    }
    case 'boolean': {
      const lower = text.trim().toLowerCase();
      if (lower === 'true' || lower === '1') return true;
      if (lower === 'false' || lower === '0') return false;
      throw new CellError(`${JSON.stringify(text)} is not a boolean (write true/false or 1/0)`);
    }
  }
}

interface CsvRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
}

function csvParser(file: string) {
  const input = createReadStream(file);
  const parser = parseCsv({ bom: true, info: true, skip_empty_lines: true, relax_column_count: true });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  return {
    records: parser as AsyncIterable<CsvRecord>,
    close: () => {
      input.destroy();
      parser.destroy();
    },
  };
}

function csvError(file: string, error: unknown): TableError {
  if (error instanceof TableError) return error;
  if (error instanceof CsvError) {
    const line = typeof error.lines === 'number' ? ` near line ${error.lines}` : '';
    return fail(
      file,
      `is not valid CSV${line}: ${error.message}`,
      'fix the quoting on that line, or write the file with df.to_csv(path, index=False)',
    );
  }
  return fail(file, `cannot be read: ${(error as Error).message}`, 'check the file');
}

async function openCsvTable(file: string, kinds: Readonly<Record<string, CsvKind>>): Promise<ParamTable> {
  const readHeader = async (): Promise<string[]> => {
    const { records, close } = csvParser(file);
    try {
      for await (const { record } of records) return record;
    } catch (error) {
      throw csvError(file, error);
    } finally {
      close();
    }
    throw fail(file, 'has no header row (it holds only empty lines)', 'put the column names on the first line');
  };
  const header = await readHeader();
  const problems: string[] = [];
  const seen = new Set<string>();
  header.forEach((name, i) => {
    if (name.trim() === '') problems.push(`column ${i + 1} of the header has no name`);
    else if (seen.has(name)) problems.push(`column "${name}" appears twice in the header`);
    seen.add(name);
  });
  if (problems.length > 0)
    throw fail(
      file,
      problems.join('; '),
      'the first line must name every column once (df.to_csv(path, index=False) writes it so)',
    );

  const kindOf = (name: string): CsvKind => kinds[name] ?? 'string';
  const columns: TableColumn[] = header.map((name) => ({
    name,
    arrowType: 'text',
    jsonType: kindOf(name) === 'string' ? 'string (empty → null)' : `${kindOf(name)} (parsed from text; empty → null)`,
  }));

  async function* rows(chunkSize = DEFAULT_CHUNK_ROWS): AsyncGenerator<TableRow[]> {
    const { records, close } = csvParser(file);
    const columnKinds = header.map(kindOf);
    let chunk: TableRow[] = [];
    let row = 0;
    let atHeader = true; // the first record is the header, not a row
    try {
      for await (const { record, info } of records) {
        if (atHeader) {
          atHeader = false;
          continue;
        }
        const values: Record<string, JsonValue> = {};
        let errors: Record<string, string> | undefined;
        if (record.length !== header.length) {
          errors = { [ROW_PROBLEM]: `has ${record.length} values; the header has ${header.length} columns` };
        } else {
          for (let j = 0; j < header.length; j++) {
            try {
              values[header[j]!] = csvValue(record[j]!, columnKinds[j]!);
            } catch (error) {
              if (!(error instanceof CellError)) throw error;
              (errors ??= {})[header[j]!] = error.message;
            }
          }
        }
        chunk.push(errors ? { row, line: info.lines, values, errors } : { row, line: info.lines, values });
        row++;
        if (chunk.length >= chunkSize) {
          yield chunk;
          chunk = [];
        }
      }
      if (chunk.length > 0) yield chunk;
    } catch (error) {
      throw csvError(file, error);
    } finally {
      close();
    }
  }

  return { file, format: 'csv', formatName: FORMAT_NAMES.csv, columns, rows };
}

/** Opens a parameter table: checks the file, recognises its format and reads its schema (no rows yet). */
export async function openTable(file: string, options: OpenTableOptions = {}): Promise<ParamTable> {
  const format = await sniff(file);
  return format === 'csv' ? openCsvTable(file, options.csvKinds ?? {}) : openArrowTable(file, format);
}
