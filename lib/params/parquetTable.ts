import { fail, ParamTable } from './tableFile';

export async function openParquetTable(file: string): Promise<ParamTable> {
  throw fail(
    file,
    'is a Parquet file, not Feather/Arrow',
    'in Python: pandas.read_parquet(file).to_feather(path), then use that file',
  );
}
