/**
 * Arrow IPC files (Feather V2) and streams as parameter tables. The file's structure is checked
 * first (`arrow/ipcCheck.ts`: footer, messages, every batch's nodes and buffers against the schema
 * and the file); then apache-arrow decodes it record batch by record batch, and each decoded batch
 * is checked (`arrow/dataCheck.ts`) before a value is read. Anything inconsistent, and any error
 * from the decoder, is one `TableError` naming the file and the problem.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import {
  AsyncRecordBatchFileReader,
  AsyncRecordBatchStreamReader,
  RecordBatch,
  RecordBatchReader,
  Schema,
} from 'apache-arrow';
import { CorruptBufferError } from './codecs'; // importing it registers the LZ4/ZSTD decoders
import { UnsupportedTypeError } from './arrowTypeNames';
import { compileColumn, CompiledColumn } from './convert';
import { CellError, JsonValue } from './jsonValue';
import { createBatchChecker } from './arrow/dataCheck';
import { checkIpcFile, checkIpcStream } from './arrow/ipcCheck';
import { IpcError, type ByteSource } from './arrow/ipcError';
import {
  DEFAULT_CHUNK_ROWS,
  fail,
  FORMAT_NAMES,
  ParamTable,
  RESAVE,
  RowPlace,
  TableError,
  TableFormat,
  TableRow,
} from './tableFile';

const REWRITE =
  'the file is damaged or was not written by an Arrow writer; copy or write it again (df.to_feather(path))';

/** Turns any error met while reading into one that says what is wrong with the file. */
function decodeError(file: string, format: TableFormat, error: unknown, batch?: number): TableError {
  if (error instanceof TableError) return error;
  const where = batch === undefined ? '' : ` (record batch ${batch})`;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof IpcError) {
    switch (error.kind) {
      case 'codec':
        return fail(
          file,
          `uses a compression codec this reader does not know${where} (${message}); it decodes LZ4_FRAME and ZSTD ` +
            `(pandas, pyarrow and R write those)`,
          'write it again with compression="lz4", "zstd" or "uncompressed"',
        );
      case 'arrow-0.17':
        return fail(
          file,
          `was written by pyarrow 0.17 with compression: ${message}, a layout later Arrow versions replaced and this ` +
            `reader does not decode`,
          `re-save it with pyarrow >= 1.0: ${RESAVE}`,
        );
      case 'big-endian':
        return fail(file, message, `re-save it on a little-endian machine (x86, ARM): ${RESAVE}`);
      default:
        return fail(file, `is not a consistent ${FORMAT_NAMES[format]}${where}: ${message}`, REWRITE);
    }
  }
  if (/codec not found/i.test(message)) {
    return fail(
      file,
      `uses a compression codec this reader does not know${where}; it decodes LZ4_FRAME and ZSTD (pandas, pyarrow ` +
        `and R write those)`,
      'write it again with compression="lz4", "zstd" or "uncompressed"',
    );
  }
  if (error instanceof CorruptBufferError)
    return fail(file, `is damaged: ${message}${where}`, 'copy or write it again');
  return fail(file, `cannot be decoded as ${FORMAT_NAMES[format]}${where}: ${message}`, REWRITE);
}

function byteSource(handle: FileHandle, size: number): ByteSource {
  return {
    size,
    async read(position, length) {
      const buffer = new Uint8Array(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead !== length) throw new IpcError(`the file ended at byte ${position + bytesRead} while reading it`);
      return buffer;
    },
  };
}

/** Checks the file's structure (see `arrow/ipcCheck.ts`) and returns its schema. */
async function checkStructure(file: string, format: TableFormat): Promise<Schema> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw fail(file, `cannot be opened (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'check the path');
  }
  try {
    const { size } = await handle.stat();
    const source = byteSource(handle, size);
    const layout = format === 'arrow-file' ? await checkIpcFile(source) : await checkIpcStream(source);
    return layout.schema;
  } catch (error) {
    throw decodeError(file, format, error);
  } finally {
    await handle.close();
  }
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
      `${file}: ` +
        (problems.length === 1
          ? problems[0]
          : `the schema has ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`),
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

/** Converts one row; a value that cannot become JSON is listed in `errors` under its column. */
export function convertRow(
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

export async function openArrowTable(file: string, format: TableFormat): Promise<ParamTable> {
  const checkedSchema = await checkStructure(file, format);
  const compiled = compileSchema(file, checkedSchema);
  const first = await openArrow(file, format);
  const schema = first.reader.schema;
  await first.done();
  if (!sameSchema(schema, checkedSchema))
    throw fail(file, 'changed while it was being read (its columns are different now)', 'run the command again');

  async function* rows(chunkSize = DEFAULT_CHUNK_ROWS): AsyncGenerator<TableRow[]> {
    const { reader, done } = await openArrow(file, format);
    const checkBatch = createBatchChecker();
    const names = compiled.map((c) => c.name);
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
        let readers: Array<{ name: string; read: (index: number) => JsonValue }>;
        try {
          next = await iterator.next();
          if (next.done) break;
          const columns = next.value.data.children;
          checkBatch(columns, names, next.value.numRows);
          readers = compiled.map((column, j) => ({ name: column.name, read: column.bind(columns[j]!) }));
        } catch (error) {
          throw decodeError(file, format, error instanceof CellError ? new IpcError(error.message) : error, batchIndex);
        }
        const batch = next.value;
        for (let start = 0; start < batch.numRows; start += chunkSize) {
          const end = Math.min(batch.numRows, start + chunkSize);
          const chunk: TableRow[] = new Array(end - start);
          try {
            for (let i = start; i < end; i++) chunk[i - start] = convertRow(readers, i, { row: firstRow + i });
          } catch (error) {
            throw decodeError(file, format, error, batchIndex);
          }
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
