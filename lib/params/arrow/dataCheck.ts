/**
 * Checks a decoded record batch's arrays against themselves before any value is read: buffers long
 * enough for their rows, validity bitmaps holding as many nulls as the file claims, offsets that
 * rise and stay inside their data, dictionary indices inside their dictionary. apache-arrow builds
 * typed-array views without these checks, and a read past a view's end is `undefined` → NaN.
 * The work is linear in the batch's size.
 */
import { Data, DataType, Type, Vector } from 'apache-arrow';
import { IpcError } from './ipcError';

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, byte) => {
  let bits = 0;
  for (let b = byte; b; b >>= 1) bits += b & 1;
  return bits;
});

function countNulls(bitmap: Uint8Array, offset: number, length: number): number {
  let valid = 0;
  for (let i = offset; i < offset + length;) {
    if ((i & 7) === 0 && i + 8 <= offset + length) {
      valid += POPCOUNT[bitmap[i >> 3]!]!;
      i += 8;
    } else {
      valid += (bitmap[i >> 3]! >> (i & 7)) & 1;
      i++;
    }
  }
  return length - valid;
}

class DataChecker {
  /** Dictionaries are shared by every batch: check each chunk once. */
  private readonly checked = new WeakSet<Data>();

  check(data: Data, path: string): void {
    const fail = (problem: string): never => {
      throw new IpcError(`column "${path}": ${problem}`);
    };
    const { length, offset } = data;
    const end = offset + length;
    const nullCount = data.nullCount;
    if (nullCount > 0 && data.type.typeId !== Type.Null) {
      const bitmap = data.nullBitmap;
      if (!bitmap || bitmap.length < Math.ceil(end / 8)) fail(`its validity bitmap is shorter than its ${length} rows`);
      const counted = countNulls(bitmap!, offset, length);
      if (counted !== nullCount) fail(`it claims ${nullCount} nulls but its validity bitmap marks ${counted}`);
    }
    const type: DataType = data.type;
    const values = data.values as ArrayLike<number | bigint> | undefined;
    const stride = (type as unknown as { stride?: number }).stride ?? 1;
    switch (type.typeId) {
      case Type.Null:
        return;
      case Type.Bool:
        if (!values || (values as Uint8Array).length * 8 < end) fail('its data is shorter than its rows');
        return;
      case Type.Int:
      case Type.Float:
      case Type.Date:
      case Type.Timestamp:
      case Type.Time:
      case Type.Duration:
      case Type.Decimal:
      case Type.FixedSizeBinary:
        if (!values || values.length < end * stride) fail('its data is shorter than its rows');
        return;
      case Type.Utf8:
      case Type.LargeUtf8:
      case Type.Binary:
      case Type.LargeBinary:
        this.offsets(data, (values as Uint8Array | undefined)?.length ?? 0, fail);
        return;
      case Type.List:
      case Type.LargeList: {
        const child = data.children[0];
        if (!child) fail('its list items are missing');
        this.offsets(data, child!.length, fail);
        this.check(child!, `${path}[]`);
        return;
      }
      case Type.FixedSizeList: {
        const child = data.children[0];
        const { listSize } = type as unknown as { listSize: number };
        if (!child || child.length < end * listSize) fail('its list items are fewer than its rows need');
        this.check(child!, `${path}[]`);
        return;
      }
      case Type.Struct:
        type.children.forEach((field, i) => {
          const child = data.children[i];
          if (!child || child.length < end) fail(`its field "${field.name}" has fewer rows than the struct`);
          this.check(child!, `${path}.${field.name}`);
        });
        return;
      case Type.Dictionary:
        this.dictionary(data, fail);
        return;
      default:
        return; // types tasks cannot take are refused before any batch is read
    }
  }

  private offsets(data: Data, limit: number, fail: (problem: string) => never): void {
    const { length, offset } = data;
    if (length === 0) return;
    const offsets = data.valueOffsets as Int32Array | BigInt64Array | undefined;
    if (!offsets || offsets.length < offset + length + 1) fail('its offsets are fewer than its rows need');
    let previous = Number(offsets![offset]!);
    if (previous < 0) fail(`its first offset is ${previous}`);
    for (let i = offset + 1; i <= offset + length; i++) {
      const next = Number(offsets![i]!);
      if (next < previous) fail(`its offsets go down at row ${i - 1 - offset} (${previous} → ${next})`);
      previous = next;
    }
    if (previous > limit) fail(`its last offset ${previous} points past its ${limit} values`);
  }

  private dictionary(data: Data, fail: (problem: string) => never): void {
    const dictionary = data.dictionary as Vector | undefined;
    if (!dictionary) fail('it is dictionary-encoded but its dictionary is missing');
    for (const chunk of dictionary!.data) {
      if (this.checked.has(chunk)) continue;
      this.check(chunk, 'dictionary');
      this.checked.add(chunk);
    }
    const size = dictionary!.length;
    const indices = data.values as ArrayLike<number | bigint>;
    const { offset, length } = data;
    if (!indices || indices.length < offset + length) fail('its indices are fewer than its rows');
    const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
    for (let i = offset; i < offset + length; i++) {
      if (bitmap && ((bitmap[i >> 3]! >> (i & 7)) & 1) === 0) continue;
      const index = Number(indices[i]!);
      if (!(index >= 0 && index < size))
        fail(`row ${i - offset} refers to dictionary entry ${index} of a dictionary of ${size}`);
    }
  }
}

/** Checks every column of a decoded record batch; throws an `IpcError` on the first inconsistency. */
export function createBatchChecker(): (columns: readonly Data[], names: readonly string[], rows: number) => void {
  const checker = new DataChecker();
  return (columns, names, rows) => {
    columns.forEach((column, j) => {
      if (column.length !== rows)
        throw new IpcError(`column "${names[j]}" has ${column.length} rows in a batch of ${rows}`);
      checker.check(column, names[j]!);
    });
  };
}
