/**
 * Bounds checks for the flatbuffers an Arrow IPC file carries (footer, schema, message headers),
 * made before apache-arrow decodes them. Its generated readers trust every offset and vector length:
 * one flipped byte can make them loop over 2^31 "fields" or read past the buffer (zeros, silently).
 * This walks exactly the tables apache-arrow reads (Arrow's Schema.fbs, Message.fbs, File.fbs) and
 * checks every offset, vtable and vector against the buffer, with a budget on the tables visited,
 * so the work is bounded by the buffer's size whatever it holds.
 */

/** What one vtable slot of a table holds. */
type Slot =
  | { readonly kind: 'scalar'; readonly size: number }
  | { readonly kind: 'string' }
  | { readonly kind: 'table'; readonly table: () => TableSpec }
  | { readonly kind: 'structs'; readonly size: number }
  | { readonly kind: 'scalars'; readonly size: number }
  | { readonly kind: 'tables'; readonly table: () => TableSpec }
  | { readonly kind: 'union'; readonly typeSlot: number; readonly tables: Readonly<Record<number, () => TableSpec>> };

interface TableSpec {
  readonly name: string;
  readonly slots: readonly (Slot | undefined)[];
}

export class FlatbufferError extends Error {
  override readonly name = 'FlatbufferError';
}

const scalar = (size: number): Slot => ({ kind: 'scalar', size });
const EMPTY = (name: string): TableSpec => ({ name, slots: [] });

const KEY_VALUE: TableSpec = { name: 'KeyValue', slots: [{ kind: 'string' }, { kind: 'string' }] };
const INT: TableSpec = { name: 'Int', slots: [scalar(4), scalar(1)] };

/** Arrow's `Type` union, by type id (Schema.fbs); types without fields are empty tables. */
const TYPE_TABLES: Record<number, () => TableSpec> = {
  1: () => EMPTY('Null'),
  2: () => INT,
  3: () => ({ name: 'FloatingPoint', slots: [scalar(2)] }),
  4: () => EMPTY('Binary'),
  5: () => EMPTY('Utf8'),
  6: () => EMPTY('Bool'),
  7: () => ({ name: 'Decimal', slots: [scalar(4), scalar(4), scalar(4)] }),
  8: () => ({ name: 'Date', slots: [scalar(2)] }),
  9: () => ({ name: 'Time', slots: [scalar(2), scalar(4)] }),
  10: () => ({ name: 'Timestamp', slots: [scalar(2), { kind: 'string' }] }),
  11: () => ({ name: 'Interval', slots: [scalar(2)] }),
  12: () => EMPTY('List'),
  13: () => EMPTY('Struct'),
  14: () => ({ name: 'Union', slots: [scalar(2), { kind: 'scalars', size: 4 }] }),
  15: () => ({ name: 'FixedSizeBinary', slots: [scalar(4)] }),
  16: () => ({ name: 'FixedSizeList', slots: [scalar(4)] }),
  17: () => ({ name: 'Map', slots: [scalar(1)] }),
  18: () => ({ name: 'Duration', slots: [scalar(2)] }),
  19: () => EMPTY('LargeBinary'),
  20: () => EMPTY('LargeUtf8'),
  21: () => EMPTY('LargeList'),
  22: () => EMPTY('RunEndEncoded'),
  23: () => EMPTY('BinaryView'),
  24: () => EMPTY('Utf8View'),
  25: () => EMPTY('ListView'),
  26: () => EMPTY('LargeListView'),
};

const FIELD: TableSpec = {
  name: 'Field',
  slots: [
    { kind: 'string' }, // name
    scalar(1), // nullable
    scalar(1), // type_type
    { kind: 'union', typeSlot: 2, tables: TYPE_TABLES }, // type
    { kind: 'table', table: () => DICTIONARY_ENCODING },
    { kind: 'tables', table: () => FIELD }, // children
    { kind: 'tables', table: () => KEY_VALUE }, // custom_metadata
  ],
};
const DICTIONARY_ENCODING: TableSpec = {
  name: 'DictionaryEncoding',
  slots: [scalar(8), { kind: 'table', table: () => INT }, scalar(1), scalar(2)],
};
export const SCHEMA: TableSpec = {
  name: 'Schema',
  slots: [
    scalar(2),
    { kind: 'tables', table: () => FIELD },
    { kind: 'tables', table: () => KEY_VALUE },
    { kind: 'scalars', size: 8 },
  ],
};
const RECORD_BATCH: TableSpec = {
  name: 'RecordBatch',
  slots: [
    scalar(8), // length
    { kind: 'structs', size: 16 }, // nodes: FieldNode { length, null_count }
    { kind: 'structs', size: 16 }, // buffers: Buffer { offset, length }
    { kind: 'table', table: () => ({ name: 'BodyCompression', slots: [scalar(1), scalar(1)] }) },
    { kind: 'scalars', size: 8 }, // variadicBufferCounts
  ],
};
const DICTIONARY_BATCH: TableSpec = {
  name: 'DictionaryBatch',
  slots: [scalar(8), { kind: 'table', table: () => RECORD_BATCH }, scalar(1)],
};
export const MESSAGE: TableSpec = {
  name: 'Message',
  slots: [
    scalar(2), // version
    scalar(1), // header_type
    { kind: 'union', typeSlot: 1, tables: { 1: () => SCHEMA, 2: () => DICTIONARY_BATCH, 3: () => RECORD_BATCH } },
    scalar(8), // bodyLength
    { kind: 'tables', table: () => KEY_VALUE },
  ],
};
export const FOOTER: TableSpec = {
  name: 'Footer',
  slots: [
    scalar(2),
    { kind: 'table', table: () => SCHEMA },
    { kind: 'structs', size: 24 }, // dictionaries: Block { offset, metaDataLength, bodyLength }
    { kind: 'structs', size: 24 }, // recordBatches
    { kind: 'tables', table: () => KEY_VALUE },
  ],
};

/** Nesting deeper than this is not a table anyone writes (and would recurse without end). */
const MAX_DEPTH = 64;

class Walker {
  private readonly view: DataView;
  /** Every table takes at least 4 bytes of its own, so a valid buffer has fewer tables than this. */
  private budget: number;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = Math.floor(bytes.byteLength / 4) + 1;
  }

  private need(position: number, size: number, what: string): void {
    if (!(position >= 0 && size >= 0 && position + size <= this.bytes.byteLength))
      throw new FlatbufferError(
        `${what} points outside the metadata (${position}+${size} of ${this.bytes.byteLength} bytes)`,
      );
  }

  private target(position: number, what: string): number {
    this.need(position, 4, what);
    const offset = this.view.getUint32(position, true);
    const target = position + offset;
    this.need(target, 4, what);
    return target;
  }

  root(spec: TableSpec): void {
    this.table(this.target(0, `the root ${spec.name}`), spec, 0);
  }

  private table(position: number, spec: TableSpec, depth: number): void {
    if (--this.budget < 0) throw new FlatbufferError('the metadata refers to more tables than it can hold');
    if (depth > MAX_DEPTH) throw new FlatbufferError(`${spec.name} tables nest deeper than ${MAX_DEPTH} levels`);
    this.need(position, 4, `a ${spec.name} table`);
    const vtable = position - this.view.getInt32(position, true);
    this.need(vtable, 4, `the vtable of a ${spec.name}`);
    const vtableSize = this.view.getUint16(vtable, true);
    const objectSize = this.view.getUint16(vtable + 2, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0)
      throw new FlatbufferError(`a ${spec.name} has a vtable of ${vtableSize} bytes`);
    this.need(vtable, vtableSize, `the vtable of a ${spec.name}`);
    this.need(position, objectSize, `a ${spec.name} table`);
    const fieldAt = (slot: number): number => {
      const entry = 4 + 2 * slot;
      if (entry >= vtableSize) return 0;
      const offset = this.view.getUint16(vtable + entry, true);
      if (offset !== 0 && offset >= objectSize)
        throw new FlatbufferError(`field ${slot} of a ${spec.name} lies outside the table`);
      return offset === 0 ? 0 : position + offset;
    };
    spec.slots.forEach((slot, index) => {
      if (!slot) return;
      const at = fieldAt(index);
      const what = `field ${index} of a ${spec.name}`;
      // Arrow's unions here (a field's type, a message's header) are never optional
      if (at === 0 && slot.kind === 'union') throw new FlatbufferError(`${what} is missing`);
      if (at === 0) return;
      switch (slot.kind) {
        case 'scalar':
          this.need(at, slot.size, what);
          return;
        case 'string': {
          const target = this.target(at, what);
          this.need(target + 4, this.view.getUint32(target, true), what);
          return;
        }
        case 'table':
          this.table(this.target(at, what), slot.table(), depth + 1);
          return;
        case 'structs':
        case 'scalars': {
          const target = this.target(at, what);
          this.need(target + 4, this.view.getUint32(target, true) * slot.size, what);
          return;
        }
        case 'tables': {
          const target = this.target(at, what);
          const count = this.view.getUint32(target, true);
          this.need(target + 4, count * 4, what);
          if (count > this.budget)
            throw new FlatbufferError(`${what} lists ${count} tables, more than the metadata can hold`);
          const element = slot.table();
          for (let i = 0; i < count; i++) this.table(this.target(target + 4 + 4 * i, what), element, depth + 1);
          return;
        }
        case 'union': {
          const typeAt = fieldAt(slot.typeSlot);
          const type = typeAt === 0 ? 0 : this.bytes[typeAt]!;
          const element = slot.tables[type];
          if (!element) throw new FlatbufferError(`${what} has union type ${type}, which Arrow does not define`);
          this.table(this.target(at, what), element(), depth + 1);
          return;
        }
      }
    });
  }
}

/** Throws a `FlatbufferError` unless every offset and length of the `spec` root in `bytes` is inside `bytes`. */
export function checkFlatbuffer(bytes: Uint8Array, spec: TableSpec): void {
  new Walker(bytes).root(spec);
}
