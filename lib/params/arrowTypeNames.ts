/**
 * Arrow type names as pyarrow prints them (what pandas users know), and the advice given when a
 * column's type is one tasks cannot take.
 */
import { DataType, DateUnit, Field, Precision, TimeUnit, Type } from 'apache-arrow';

/** A column type tasks cannot take; raised while the schema is read, before any row. */
export class UnsupportedTypeError extends Error {
  override readonly name = 'UnsupportedTypeError';
  constructor(
    readonly column: string,
    readonly arrowType: string,
    readonly advice: string,
  ) {
    super(
      `column "${column}" has type ${arrowType}, which tasks cannot take; cast it in pandas before writing (${advice})`,
    );
  }
}

export const UNIT_NAMES: Record<TimeUnit, string> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};

/** Names an Arrow type the way pyarrow prints it, which is what pandas users know. */
export function describeArrowType(type: DataType): string {
  switch (type.typeId) {
    case Type.Null:
      return 'null';
    case Type.Bool:
      return 'bool';
    case Type.Int: {
      const { bitWidth, isSigned } = type as unknown as { bitWidth: number; isSigned: boolean };
      return `${isSigned ? 'int' : 'uint'}${bitWidth}`;
    }
    case Type.Float: {
      const { precision } = type as unknown as { precision: Precision };
      return precision === Precision.HALF ? 'float16' : precision === Precision.SINGLE ? 'float32' : 'float64';
    }
    case Type.Utf8:
      return 'string';
    case Type.LargeUtf8:
      return 'large_string';
    case Type.Utf8View:
      return 'string_view';
    case Type.Binary:
      return 'binary';
    case Type.LargeBinary:
      return 'large_binary';
    case Type.BinaryView:
      return 'binary_view';
    case Type.FixedSizeBinary:
      return `fixed_size_binary[${(type as unknown as { byteWidth: number }).byteWidth}]`;
    case Type.Decimal: {
      const { precision, scale, bitWidth } = type as unknown as { precision: number; scale: number; bitWidth: number };
      return `decimal${bitWidth}(${precision}, ${scale})`;
    }
    case Type.Date: {
      const { unit } = type as unknown as { unit: DateUnit };
      return unit === DateUnit.DAY ? 'date32[day]' : 'date64[ms]';
    }
    case Type.Time: {
      const { bitWidth, unit } = type as unknown as { bitWidth: number; unit: TimeUnit };
      return `time${bitWidth}[${UNIT_NAMES[unit]}]`;
    }
    case Type.Timestamp: {
      const { unit, timezone } = type as unknown as { unit: TimeUnit; timezone: string | null };
      return `timestamp[${UNIT_NAMES[unit]}${timezone ? `, tz=${timezone}` : ''}]`;
    }
    case Type.Duration:
      return `duration[${UNIT_NAMES[(type as unknown as { unit: TimeUnit }).unit]}]`;
    case Type.Interval:
      return 'interval';
    case Type.List:
      return `list<item: ${describeArrowType(type.children[0]!.type)}>`;
    case Type.LargeList:
      return `large_list<item: ${describeArrowType(type.children[0]!.type)}>`;
    case Type.FixedSizeList: {
      const { listSize } = type as unknown as { listSize: number };
      return `fixed_size_list<item: ${describeArrowType(type.children[0]!.type)}>[${listSize}]`;
    }
    case Type.Struct:
      return `struct<${type.children.map((f: Field) => `${f.name}: ${describeArrowType(f.type)}`).join(', ')}>`;
    case Type.Map:
      return 'map';
    case Type.Union:
      return 'union';
    case Type.Dictionary: {
      const { dictionary, indices } = type as unknown as { dictionary: DataType; indices: DataType };
      return `dictionary<values=${describeArrowType(dictionary)}, indices=${describeArrowType(indices)}>`;
    }
    default:
      return String(type);
  }
}

/** Suggests the pandas cast for a type tasks cannot take. */
export function castAdvice(type: DataType, column: string): string {
  const col = `df[${JSON.stringify(column)}]`;
  switch (type.typeId) {
    case Type.Decimal:
      return `e.g. ${col} = ${col}.astype(float), or .astype(str) to keep every digit`;
    case Type.Binary:
    case Type.LargeBinary:
    case Type.BinaryView:
    case Type.FixedSizeBinary:
      return `e.g. ${col} = ${col}.str.decode("utf-8"), or base64-encode the bytes into a string`;
    case Type.Time:
      return `e.g. ${col} = ${col}.astype(str)`;
    case Type.Utf8View:
      return (
        'write it as string instead of string_view, ' +
        `e.g. in pyarrow table.cast(...) with pa.string() for ${JSON.stringify(column)}`
      );
    case Type.Duration:
    case Type.Interval:
      return `e.g. ${col} = ${col}.dt.total_seconds()`;
    default:
      return `e.g. ${col} = ${col}.astype(str), or split it into columns of numbers and strings`;
  }
}
