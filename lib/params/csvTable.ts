/**
 * CSV parameter tables, for hand-made tables: a header row naming the columns, values typed by what
 * the task's schema expects. The delimiter (`,` `;` tab `|`) is detected from the header line; the
 * bytes must be UTF-8 (a cell that is not is an error naming its row and column, never U+FFFD);
 * integers beyond ±2^53 − 1 are refused with their exact digits, never rounded.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { parse as parseCsv, CsvError } from 'csv-parse';
import { CellError, JsonValue } from './jsonValue';
import {
  CsvKind,
  DEFAULT_CHUNK_ROWS,
  fail,
  FORMAT_NAMES,
  ParamTable,
  ROW_PROBLEM,
  TableColumn,
  TableError,
  TableRow,
} from './tableFile';

const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INTEGER_TEXT = /^[+-]?\d+$/;

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
      if (INTEGER_TEXT.test(trimmed) && !Number.isSafeInteger(value))
        throw new CellError(
          `${trimmed} does not fit a JSON number exactly (the limit is ±${Number.MAX_SAFE_INTEGER}, 2^53 − 1); ` +
            'make the parameter a string in the task schema if the task needs every digit',
        );
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

const DELIMITERS = [',', ';', '\t', '|'] as const;
const DELIMITER_NAMES: Record<string, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab', '|': 'pipe' };

/** The delimiter the header line uses most (outside quotes); a comma when it has none (one column). */
export function detectDelimiter(headerLine: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const char of headerLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1);
  }
  let best: string = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes one field's bytes, refusing anything that is not UTF-8 (never U+FFFD). */
function utf8(bytes: Buffer): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const hex = [...bytes.subarray(0, Math.min(bytes.length, 16))].map((b) => b.toString(16).padStart(2, '0'));
    throw new CellError(
      `its bytes are not UTF-8 (${hex.join(' ')}${bytes.length > 16 ? ' ...' : ''}): save the CSV as UTF-8 ` +
        `(df.to_csv(path, index=False) does)`,
    );
  }
}

interface CsvRecord {
  readonly record: Buffer[];
  readonly info: { readonly lines: number };
}

function csvParser(file: string, delimiter: string) {
  const input = createReadStream(file);
  const parser = parseCsv({
    // no `bom`: csv-parse would switch to decoding text itself; the header's UTF-8 BOM is dropped below
    info: true,
    skip_empty_lines: true,
    relax_column_count: true,
    delimiter,
    encoding: null, // fields as bytes, so invalid UTF-8 is caught per cell instead of becoming U+FFFD
  });
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

/** The header line's bytes (up to 64 KiB), for delimiter detection. */
async function firstLine(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(65_536);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const bytes = buffer.subarray(0, bytesRead);
    const end = bytes.indexOf(0x0a);
    return bytes.subarray(0, end === -1 ? bytes.length : end).toString('latin1');
  } finally {
    await handle.close();
  }
}

export async function openCsvTable(file: string, kinds: Readonly<Record<string, CsvKind>>): Promise<ParamTable> {
  const delimiter = detectDelimiter(await firstLine(file));
  const readHeader = async (): Promise<string[]> => {
    const { records, close } = csvParser(file, delimiter);
    try {
      for await (const { record } of records) {
        try {
          const [first, ...rest] = record;
          const hasBom = first !== undefined && first.subarray(0, 3).equals(UTF8_BOM);
          return first === undefined ? [] : [utf8(hasBom ? first.subarray(3) : first), ...rest.map((b) => utf8(b))];
        } catch (error) {
          throw fail(file, `its header line is not UTF-8: ${(error as Error).message}`, 'save the CSV as UTF-8');
        }
      }
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
    const { records, close } = csvParser(file, delimiter);
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
              values[header[j]!] = csvValue(utf8(record[j]!), columnKinds[j]!);
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

  const name = delimiter === ',' ? FORMAT_NAMES.csv : `${FORMAT_NAMES.csv} (${DELIMITER_NAMES[delimiter]}-separated)`;
  return { file, format: 'csv', formatName: name, columns, rows };
}
