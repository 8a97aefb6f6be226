/**
 * Arrow values → JSON values, the way a task receives them. The mapping (also in docs/params.md):
 *
 *   int8–32, uint8–32, float16/32/64  → number (float NaN → null, i.e. missing; ±Infinity is an error)
 *   int64, uint64                      → number when exactly representable (|x| ≤ 2^53 − 1), else an error
 *   bool → boolean;  utf8, large_utf8 → string (strict UTF-8);  null type → null
 *   dictionary (pandas categorical)    → its value, converted by the value type's rule
 *   timestamp (any unit, any tz)       → ISO 8601 string in UTC; digits after the second follow the unit
 *   date32, date64                     → "YYYY-MM-DD"
 *   list, large_list, fixed_size_list  → array (items converted recursively); struct → object
 *   anything else (decimal, binary, string_view, time, duration, interval, map, union) → refused when the schema is read
 *
 * A column's converter is compiled once from its Arrow type (`compileColumn`); unsupported types fail
 * then, before any row is read. Converting one value either returns it or throws a `CellError`.
 */
import { Data, DataType, DateUnit, Field, Precision, TimeUnit, Type, Vector } from 'apache-arrow';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One value that cannot become JSON; the caller adds the row and column. */
export class CellError extends Error {
  override readonly name = 'CellError';
}

/** Converts the value at `index` of the Data it was bound to. */
export type ValueReader = (index: number) => JsonValue;
/** Binds a compiled converter to one record batch's data for a column. */
export type Binder = (data: Data) => ValueReader;

export interface CompiledColumn {
  readonly name: string;
  /** The Arrow type as pyarrow prints it, e.g. `int64`, `timestamp[us, tz=UTC]`. */
  readonly arrowType: string;
  /** What the task receives, e.g. `number`, `string (ISO 8601 UTC)`. */
  readonly jsonType: string;
  readonly bind: Binder;
}

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

const UNIT_NAMES: Record<TimeUnit, string> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};

/** Ticks per second and the number of fraction digits printed, per timestamp unit. */
const UNIT_SCALE: Record<TimeUnit, { perSecond: bigint; digits: number }> = {
  [TimeUnit.SECOND]: { perSecond: 1n, digits: 3 },
  [TimeUnit.MILLISECOND]: { perSecond: 1_000n, digits: 3 },
  [TimeUnit.MICROSECOND]: { perSecond: 1_000_000n, digits: 6 },
  [TimeUnit.NANOSECOND]: { perSecond: 1_000_000_000n, digits: 9 },
};

/** The largest |milliseconds| a JavaScript Date holds (±275,760 years around 1970). */
const MAX_DATE_MS = 8.64e15;

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
    case Type.Time:
      return `time${(type as unknown as { bitWidth: number }).bitWidth}[${UNIT_NAMES[(type as unknown as { unit: TimeUnit }).unit]}]`;
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
    case Type.FixedSizeList:
      return `fixed_size_list<item: ${describeArrowType(type.children[0]!.type)}>[${(type as unknown as { listSize: number }).listSize}]`;
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
function castAdvice(type: DataType, column: string): string {
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
      return `write it as string instead of string_view, e.g. in pyarrow table.cast(...) with pa.string() for ${JSON.stringify(column)}`;
    case Type.Duration:
    case Type.Interval:
      return `e.g. ${col} = ${col}.dt.total_seconds()`;
    default:
      return `e.g. ${col} = ${col}.astype(str), or split it into columns of numbers and strings`;
  }
}

interface Compiled {
  readonly jsonType: string;
  readonly bind: Binder;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a string value's bytes, refusing what is not UTF-8 (apache-arrow's getter would give U+FFFD). */
function strictUtf8(bytes: Uint8Array): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    const hex = [...bytes.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new CellError(
      `its bytes are not UTF-8 (${hex}${bytes.length > 16 ? ' ...' : ''}); store text as UTF-8 strings, or binary data base64-encoded`,
    );
  }
}

/** Wraps a reader of valid values with the null check every Arrow type shares. */
function nullable(data: Data, read: ValueReader): ValueReader {
  if (data.nullCount === 0) return read;
  return (index) => (data.getValid(index) ? read(index) : null);
}

function safeNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new CellError(
      `${value} does not fit a JSON number exactly (the limit is ±${Number.MAX_SAFE_INTEGER}, 2^53 − 1); ` +
        'store it as a string column (df[col].astype(str)) if the task needs every digit',
    );
  }
  return Number(value);
}

function finiteOrNull(value: number): number | null {
  if (Number.isNaN(value)) return null;
  if (!Number.isFinite(value))
    throw new CellError(`${value} cannot be sent as JSON; replace infinities before writing`);
  return value;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** Timestamp ticks → `YYYY-MM-DDTHH:MM:SS.fffZ` (6 or 9 fraction digits for us/ns), exact for every unit. */
export function timestampToIso(ticks: bigint, unit: TimeUnit): string {
  const { perSecond, digits } = UNIT_SCALE[unit];
  const seconds = floorDiv(ticks, perSecond);
  const fraction = ticks - seconds * perSecond;
  const ms = Number(seconds) * 1000;
  if (Math.abs(ms) > MAX_DATE_MS)
    throw new CellError(`timestamp ${ticks} ${UNIT_NAMES[unit]} is outside the dates JSON strings can show here`);
  const whole = new Date(ms).toISOString(); // always ends in ".000Z"
  const fractionDigits = ((fraction * 10n ** BigInt(digits)) / perSecond).toString().padStart(digits, '0');
  return `${whole.slice(0, -5)}.${fractionDigits}Z`;
}

/** Milliseconds since the epoch → `YYYY-MM-DD` (the UTC calendar date). */
export function msToDate(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS)
    throw new CellError(`date ${ms} ms is outside the dates JSON strings can show here`);
  const iso = new Date(ms).toISOString();
  return iso.slice(0, iso.indexOf('T'));
}

/** Binds a reader over a Vector that may hold several chunks (a dictionary with delta batches). */
function bindVector(vector: Vector, bind: Binder): ValueReader {
  const chunks = vector.data.map((data) => ({ length: data.length, read: bind(data) }));
  if (chunks.length === 1) return chunks[0]!.read;
  return (index) => {
    let local = index;
    for (const chunk of chunks) {
      if (local < chunk.length) return chunk.read(local);
      local -= chunk.length;
    }
    throw new CellError(
      `dictionary index ${index} is past the end of the dictionary (${vector.length} values): the file is damaged`,
    );
  };
}

/** The one place every Arrow type is mapped; `path` names nested fields in errors. */
function compile(type: DataType, path: string): Compiled {
  switch (type.typeId) {
    case Type.Null:
      return { jsonType: 'null', bind: () => () => null };
    case Type.Bool:
      return {
        jsonType: 'boolean',
        bind: (data) => {
          const vector = new Vector([data]);
          return (index) => vector.get(index) as boolean | null;
        },
      };
    case Type.Int: {
      const { bitWidth } = type as unknown as { bitWidth: number };
      if (bitWidth === 64) {
        return {
          jsonType: 'number (exact up to ±2^53 − 1)',
          bind: (data) => {
            const values = data.values as BigInt64Array | BigUint64Array;
            return nullable(data, (index) => safeNumber(values[index]!));
          },
        };
      }
      return {
        jsonType: 'number',
        bind: (data) => {
          const values = data.values as Int32Array;
          return nullable(data, (index) => values[index]!);
        },
      };
    }
    case Type.Float: {
      const { precision } = type as unknown as { precision: Precision };
      return {
        jsonType: 'number (NaN → null)',
        bind: (data) => {
          if (precision === Precision.HALF) {
            // float16 is stored as raw uint16 bits; Arrow's own getter decodes them.
            const vector = new Vector([data]);
            return (index) => {
              const value = vector.get(index) as number | null;
              return value === null ? null : finiteOrNull(value);
            };
          }
          const values = data.values as Float64Array;
          return nullable(data, (index) => finiteOrNull(values[index]!));
        },
      };
    }
    case Type.Utf8:
    case Type.LargeUtf8:
      return {
        jsonType: 'string',
        bind: (data) => {
          const offsets = data.valueOffsets as Int32Array | BigInt64Array;
          const bytes = data.values as Uint8Array;
          const base = data.offset;
          return nullable(data, (index) =>
            strictUtf8(bytes.subarray(Number(offsets[base + index]!), Number(offsets[base + index + 1]!))),
          );
        },
      };
    case Type.Dictionary: {
      const { dictionary } = type as unknown as { dictionary: DataType };
      const value = compile(dictionary, path);
      return {
        jsonType: value.jsonType,
        bind: (data) => {
          if (!data.dictionary)
            throw new CellError(
              `column "${path}" is dictionary-encoded but its dictionary is missing: the file is damaged`,
            );
          const keys = data.values as Int32Array | BigInt64Array;
          const lookup = bindVector(data.dictionary, value.bind);
          return nullable(data, (index) => lookup(Number(keys[index]!)));
        },
      };
    }
    case Type.Timestamp: {
      const { unit } = type as unknown as { unit: TimeUnit };
      return {
        jsonType: 'string (ISO 8601, UTC)',
        bind: (data) => {
          const values = data.values as BigInt64Array;
          return nullable(data, (index) => timestampToIso(values[index]!, unit));
        },
      };
    }
    case Type.Date: {
      const { unit } = type as unknown as { unit: DateUnit };
      return {
        jsonType: 'string (YYYY-MM-DD)',
        bind: (data) => {
          if (unit === DateUnit.DAY) {
            const days = data.values as Int32Array;
            return nullable(data, (index) => msToDate(days[index]! * 86_400_000));
          }
          const ms = data.values as BigInt64Array;
          return nullable(data, (index) => msToDate(Number(ms[index]!)));
        },
      };
    }
    case Type.List:
    case Type.LargeList: {
      const item = compile(type.children[0]!.type, `${path}[]`);
      return {
        jsonType: `array of ${item.jsonType}`,
        bind: (data) => {
          const offsets = data.valueOffsets as Int32Array | BigInt64Array;
          const readItem = item.bind(data.children[0]!);
          return nullable(data, (index) => {
            const begin = Number(offsets[index]!);
            const end = Number(offsets[index + 1]!);
            const items: JsonValue[] = new Array(end - begin);
            for (let i = begin; i < end; i++) items[i - begin] = readItem(i);
            return items;
          });
        },
      };
    }
    case Type.FixedSizeList: {
      const { listSize } = type as unknown as { listSize: number };
      const item = compile(type.children[0]!.type, `${path}[]`);
      return {
        jsonType: `array of ${listSize} ${item.jsonType}`,
        bind: (data) => {
          const readItem = item.bind(data.children[0]!);
          return nullable(data, (index) => {
            const items: JsonValue[] = new Array(listSize);
            for (let i = 0; i < listSize; i++) items[i] = readItem(index * listSize + i);
            return items;
          });
        },
      };
    }
    case Type.Struct: {
      const fields = type.children.map((field: Field) => ({
        name: field.name,
        compiled: compile(field.type, `${path}.${field.name}`),
      }));
      return {
        jsonType: `object {${fields.map((f) => `${f.name}: ${f.compiled.jsonType}`).join(', ')}}`,
        bind: (data) => {
          const readers = fields.map((f, i) => ({ name: f.name, read: f.compiled.bind(data.children[i]!) }));
          return nullable(data, (index) => {
            const object: { [key: string]: JsonValue } = {};
            for (const { name, read } of readers) object[name] = read(index);
            return object;
          });
        },
      };
    }
    default:
      throw new UnsupportedTypeError(path, describeArrowType(type), castAdvice(type, path.split(/[.[]/)[0]!));
  }
}

/** Compiles a column's converter; throws `UnsupportedTypeError` for types tasks cannot take. */
export function compileColumn(field: Field): CompiledColumn {
  const { jsonType, bind } = compile(field.type, field.name);
  return { name: field.name, arrowType: describeArrowType(field.type), jsonType, bind };
}
