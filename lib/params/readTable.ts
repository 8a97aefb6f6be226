/**
 * Opens a parameter table and streams its rows as JSON values, a chunk at a time, in table order.
 * The format comes from the file's first bytes (`tableFile.ts`); each format has its reader:
 * Arrow IPC file/stream (`arrowTable.ts`), Parquet (`parquetTable.ts`), CSV (`csvTable.ts`).
 * Every failure is a `TableError` naming the file and what to do.
 */
import { openArrowTable } from './arrowTable';
import { openCsvTable } from './csvTable';
import { openParquetTable } from './parquetTable';
import { OpenTableOptions, ParamTable, sniff } from './tableFile';

export { csvValue } from './csvTable';
export {
  CsvKind,
  DEFAULT_CHUNK_ROWS,
  OpenTableOptions,
  ParamTable,
  ROW_PROBLEM,
  RowPlace,
  TableColumn,
  TableError,
  TableFormat,
  TableRow,
} from './tableFile';

/** Opens a parameter table: checks the file, recognises its format and reads its schema (no rows yet). */
export async function openTable(file: string, options: OpenTableOptions = {}): Promise<ParamTable> {
  const format = await sniff(file);
  switch (format) {
    case 'csv':
      return openCsvTable(file, options.csvKinds ?? {});
    case 'parquet':
      return openParquetTable(file);
    default:
      return openArrowTable(file, format);
  }
}
