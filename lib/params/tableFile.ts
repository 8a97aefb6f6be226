/**
 * What every table reader shares: the row and column types, the error class, and recognising a
 * file's format from its first bytes (never trusted from the extension alone):
 *   - Arrow IPC file = Feather V2 (`ARROW1`), Arrow IPC stream (the 0xFFFFFFFF continuation marker),
 *     Parquet (`PAR1`), and CSV by the `.csv` extension;
 *   - Feather V1 (`FEA1`) is recognised only to say how to convert it.
 */
import { stat, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors';
import type { JsonValue } from './jsonValue';
import { envName } from '../settings/table';

export type TableFormat = 'arrow-file' | 'arrow-stream' | 'parquet' | 'csv';

export const FORMAT_NAMES: Record<TableFormat, string> = {
  'arrow-file': 'Arrow IPC file / Feather V2',
  'arrow-stream': 'Arrow IPC stream',
  parquet: 'Parquet',
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

export const RESAVE =
  'in Python: df = pandas.read_feather(old) (or pyarrow), then df.to_feather(path) with pandas >= 1.1 / pyarrow ' +
  '(Feather V2)';

export function fail(file: string, problem: string, fix: string): TableError {
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
export async function sniff(file: string): Promise<TableFormat> {
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
          `is cut short: it starts like an Arrow IPC file but its ${info.size} bytes end without the closing ARROW1 ` +
            `footer`,
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
      const tail = await readAt(handle, Math.max(0, info.size - 4), 4);
      if (info.size < 12 || !tail.equals(PARQUET_MAGIC)) {
        throw fail(
          file,
          `is cut short: it starts like a Parquet file but its ${info.size} bytes end without the closing PAR1 footer`,
          'copy or write it again; the write was probably interrupted',
        );
      }
      return 'parquet';
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
      'write the table with df.to_feather(path) in pandas (or pyarrow.feather.write_feather), or give a CSV file a ' +
        '.csv name',
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
        `check the name (${envName('paramsFile')} in config/task.env, or --params FILE); ` +
          '`npm run example:params` ' +
          "writes the example task's table",
      );
    case 'ENOTDIR':
      return fail(
        file,
        'cannot be opened: a folder in its path is a file',
        `check the path (${envName('paramsFile')} or --params FILE)`,
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
