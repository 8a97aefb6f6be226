/** Checks a schema's fields: names that are UTF-8, and type parameters Arrow defines. */
import { DataType, DateUnit, Field, Precision, TimeUnit, Type } from 'apache-arrow';
import { IpcError } from './ipcError';

function dataTypeProblem(type: DataType): string | undefined {
  const t = type as unknown as Record<string, unknown>;
  switch (type.typeId) {
    case Type.Int:
      return [8, 16, 32, 64].includes(t['bitWidth'] as number) ? undefined : `an integer of ${t['bitWidth']} bits`;
    case Type.Float:
      return [Precision.HALF, Precision.SINGLE, Precision.DOUBLE].includes(t['precision'] as Precision)
        ? undefined
        : `floating-point precision ${t['precision']}`;
    case Type.Decimal:
      return [32, 64, 128, 256].includes(t['bitWidth'] as number) ? undefined : `a decimal of ${t['bitWidth']} bits`;
    case Type.Date:
      return [DateUnit.DAY, DateUnit.MILLISECOND].includes(t['unit'] as DateUnit)
        ? undefined
        : `date unit ${t['unit']}`;
    case Type.Time:
    case Type.Timestamp:
    case Type.Duration:
      if (
        ![TimeUnit.SECOND, TimeUnit.MILLISECOND, TimeUnit.MICROSECOND, TimeUnit.NANOSECOND].includes(
          t['unit'] as TimeUnit,
        )
      )
        return `time unit ${t['unit']}`;
      return type.typeId === Type.Time && ![32, 64].includes(t['bitWidth'] as number)
        ? `a time of ${t['bitWidth']} bits`
        : undefined;
    case Type.FixedSizeBinary:
      return (t['byteWidth'] as number) >= 1 && (t['byteWidth'] as number) <= 1 << 20
        ? undefined
        : `byte width ${t['byteWidth']}`;
    case Type.FixedSizeList:
      if (!((t['listSize'] as number) >= 0 && (t['listSize'] as number) <= 1 << 20))
        return `list size ${t['listSize']}`;
      return type.children.length === 1 ? undefined : `a list type with ${type.children.length} child fields`;
    case Type.List:
    case Type.LargeList:
    case Type.Map:
      return type.children.length === 1 ? undefined : `a list type with ${type.children.length} child fields`;
    case Type.Dictionary: {
      const { indices, dictionary } = type as unknown as { indices: DataType; dictionary: DataType };
      return indices.typeId !== Type.Int
        ? 'dictionary indices that are not integers'
        : (dataTypeProblem(indices) ?? dataTypeProblem(dictionary));
    }
    default:
      return undefined;
  }
}

export function checkFields(fields: readonly Field[], path: string): void {
  for (const field of fields) {
    const where = `${path}${field.name}`;
    // flatbuffers decodes names leniently: bytes that are not UTF-8 come out as U+FFFD
    if (field.name.includes('\ufffd'))
      throw new IpcError(`the name of column "${where}" is not UTF-8 (or holds U+FFFD)`);
    const problem = dataTypeProblem(field.type);
    if (problem) throw new IpcError(`the schema gives column "${where}" ${problem}, which Arrow does not define`);
    checkFields(field.type.children ?? [], `${where}.`);
  }
}
