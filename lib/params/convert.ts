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
 * anything else (decimal, binary, string_view, time, duration, interval, map, union) → refused when the
 * schema is read
 *
 * A column's converter is compiled once from its Arrow type (`compileColumn`); unsupported types fail
 * then, before any row is read. Converting one value either returns it or throws a `CellError`.
 */
import { Data, DataType, DateUnit, Field, Precision, TimeUnit, Type, Vector } from 'apache-arrow';
import { castAdvice, describeArrowType, UnsupportedTypeError } from './arrowTypeNames';
import { CellError, finiteOrNull, JsonValue, msToDate, safeNumber, strictUtf8, timestampToIso } from './jsonValue';

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

interface Compiled {
  readonly jsonType: string;
  readonly bind: Binder;
}

/** Wraps a reader of valid values with the null check every Arrow type shares. */
function nullable(data: Data, read: ValueReader): ValueReader {
  if (data.nullCount === 0) return read;
  return (index) => (data.getValid(index) ? read(index) : null);
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
