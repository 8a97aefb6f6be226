/**
 * Checks one record or dictionary batch against the schema and its body: field nodes, buffer
 * counts, bounds, order and sizes, and the decoded lengths compressed buffers announce.
 */
import { DataType, DateUnit, Field, MetadataVersion, Type } from 'apache-arrow';
import { RecordBatch as BatchHeader } from 'apache-arrow/ipc/metadata/message';
import { ByteSource, IpcError } from './ipcError';
import type { FoundMessage } from './messageRead';

/** A record batch with no buffer that grows with its rows (only null columns) holds at most this many rows. */
export const MAX_ROWS_WITHOUT_DATA = 1_000_000;
/** A record batch may decode to at most this many bytes (Feather writers use 64Ki-row batches: megabytes). */
export const MAX_BATCH_BYTES = 1 << 30;
/** Writers align buffers to 8 or 64 bytes: a larger gap between two buffers is not padding. */
const MAX_PADDING = 64;
/** LZ4 cannot expand data by more than this factor (a match of 255-byte length steps per input byte). */
const LZ4_MAX_RATIO = 256;

interface FieldLayout {
  /** Byte sizes the field's own buffers need, in buffer order; `undefined`: only known after decoding. */
  readonly buffers: (length: number, nullCount: number) => Array<number | undefined>;
  /** The children's row counts follow from this field's (fixed-size lists, structs), else are free. */
  readonly childLength?: (length: number) => number;
}

const bitmap = (length: number) => Math.ceil(length / 8);
const validity = (length: number, nullCount: number) => (nullCount > 0 ? bitmap(length) : 0);
const offsets = (width: number) => (length: number) => (length > 0 ? (length + 1) * width : undefined);

function layoutOf(type: DataType): FieldLayout | undefined {
  const t = type as unknown as Record<string, number>;
  switch (type.typeId) {
    case Type.Null:
      return { buffers: () => [] };
    case Type.Bool:
      return { buffers: (n, nulls) => [validity(n, nulls), bitmap(n)] };
    case Type.Int:
    case Type.Time:
      return { buffers: (n, nulls) => [validity(n, nulls), (n * t['bitWidth']!) / 8] };
    case Type.Float:
      return { buffers: (n, nulls) => [validity(n, nulls), n * [2, 4, 8][t['precision']!]!] };
    case Type.Date:
      return { buffers: (n, nulls) => [validity(n, nulls), n * (t['unit'] === DateUnit.DAY ? 4 : 8)] };
    case Type.Timestamp:
    case Type.Duration:
      return { buffers: (n, nulls) => [validity(n, nulls), n * 8] };
    case Type.Utf8:
    case Type.Binary:
      return { buffers: (n, nulls) => [validity(n, nulls), offsets(4)(n), undefined] };
    case Type.LargeUtf8:
    case Type.LargeBinary:
      return { buffers: (n, nulls) => [validity(n, nulls), offsets(8)(n), undefined] };
    case Type.List:
      return { buffers: (n, nulls) => [validity(n, nulls), offsets(4)(n)] };
    case Type.LargeList:
      return { buffers: (n, nulls) => [validity(n, nulls), offsets(8)(n)] };
    case Type.FixedSizeList:
      return { buffers: (n, nulls) => [validity(n, nulls)], childLength: (n) => n * t['listSize']! };
    case Type.Struct:
      return { buffers: (n, nulls) => [validity(n, nulls)], childLength: (n) => n };
    case Type.Dictionary: {
      const { indices } = type as unknown as { indices: { bitWidth: number } };
      return { buffers: (n, nulls) => [validity(n, nulls), (n * indices.bitWidth) / 8] };
    }
    default:
      return undefined; // refused when the schema is compiled, before any batch is read
  }
}

function supported(field: Field): boolean {
  if (!layoutOf(field.type)) return false;
  if (field.type.typeId === Type.Dictionary)
    return supported(new Field('values', (field.type as unknown as { dictionary: DataType }).dictionary));
  return (field.type.children ?? []).every(supported);
}

/** Reads the 8-byte prefixes of compressed buffers lazily: only batches that are compressed need them. */
type PrefixReader = (offset: number, length: number) => Promise<number | undefined>;

class BatchChecker {
  private node = 0;
  private buffer = 0;
  private decodedBytes = 0;

  constructor(
    private readonly header: BatchHeader,
    private readonly what: string,
    private readonly codec: number | undefined,
    private readonly prefix: PrefixReader,
  ) {}

  private fail(problem: string): never {
    throw new IpcError(`${this.what}: ${problem}`);
  }

  async check(fields: readonly Field[], bodyLength: number): Promise<void> {
    // a column type tasks cannot take is refused when the schema is compiled, with a better message
    if (!fields.every(supported)) return;
    const { header } = this;
    if (!Number.isSafeInteger(header.length) || header.length < 0)
      this.fail(`its row count ${header.length} is not a row count`);
    let end = 0;
    for (const [i, region] of header.buffers.entries()) {
      if (!(region.offset >= 0 && region.length >= 0 && region.offset + region.length <= bodyLength))
        this.fail(
          `buffer ${i} (bytes ${region.offset}–${region.offset + region.length}) ` +
            `lies outside its ${bodyLength}-byte body`,
        );
      if (region.offset < end) this.fail(`buffer ${i} overlaps the one before it`);
      // the format aligns buffers to 8 bytes, and Arrow C++ refuses files that do not
      if (region.offset % 8 !== 0)
        this.fail(`buffer ${i} starts at byte ${region.offset} of its body, not on an 8-byte boundary`);
      if (region.offset - end >= MAX_PADDING)
        this.fail(`buffer ${i} starts ${region.offset - end} bytes after the one before it`);
      end = region.offset + region.length;
    }
    if (bodyLength - end >= MAX_PADDING) this.fail(`its body is ${bodyLength - end} bytes longer than its buffers`);
    let hasData = false;
    for (const field of fields) {
      const length = await this.field(field, header.length, field.name);
      hasData ||= length;
    }
    if (this.node !== header.nodes.length)
      this.fail(`it has ${header.nodes.length} field nodes where the schema's columns need ${this.node}`);
    if (this.buffer !== header.buffers.length)
      this.fail(`it has ${header.buffers.length} buffers where the schema's columns need ${this.buffer}`);
    if (!hasData && header.length > MAX_ROWS_WITHOUT_DATA)
      this.fail(`it claims ${header.length} rows but none of its columns holds data`);
    if (this.decodedBytes > MAX_BATCH_BYTES)
      this.fail(
        `it decodes to ${this.decodedBytes} bytes, more than ${MAX_BATCH_BYTES} (write the table in smaller batches)`,
      );
  }

  /** Checks one field's node and buffers (and its children's); returns whether a buffer grows with its rows. */
  private async field(field: Field, expectedLength: number | undefined, path: string): Promise<boolean> {
    const node = this.header.nodes[this.node++];
    if (!node) this.fail(`it has fewer field nodes than the schema's columns need (column "${path}")`);
    const { length, nullCount } = node;
    if (!Number.isSafeInteger(length) || length < 0 || length > 2 ** 31 - 1)
      this.fail(`column "${path}" has ${length} rows`);
    if (expectedLength !== undefined && length !== expectedLength)
      this.fail(`column "${path}" has ${length} rows where it must have ${expectedLength}`);
    const type = field.type;
    // a null column's values are all null whatever its count says (apache-arrow writes -1 there)
    if (type.typeId !== Type.Null && (!Number.isSafeInteger(nullCount) || nullCount < 0 || nullCount > length))
      this.fail(`column "${path}" claims ${nullCount} nulls among ${length} rows`);
    const layout = layoutOf(type);
    if (!layout) return true;
    const needs = layout.buffers(length, nullCount);
    let grows = false;
    for (const [k, need] of needs.entries()) {
      const index = this.buffer++;
      const region = this.header.buffers[index];
      if (!region) this.fail(`it has fewer buffers than the schema's columns need (column "${path}")`);
      const size = await this.decodedSize(region.offset, region.length, `buffer ${index} (column "${path}")`);
      if (k === 0 && nullCount === 0 && size !== 0)
        this.fail(`column "${path}" has a validity bitmap but claims no nulls`);
      grows ||= k > 0 && length > 0;
      if (need === undefined) continue;
      if (size < need)
        this.fail(`buffer ${index} (column "${path}") holds ${size} bytes where its ${length} rows need ${need}`);
      if (size > need + MAX_PADDING)
        this.fail(`buffer ${index} (column "${path}") holds ${size} bytes where its ${length} rows need ${need}`);
    }
    const childLength = layout.childLength?.(length);
    // a dictionary column's values live in dictionary batches: its type's children are not this batch's nodes
    const children = type.typeId === Type.Dictionary ? [] : (type.children ?? []);
    for (const child of children) grows = (await this.field(child, childLength, `${path}.${child.name}`)) || grows;
    return grows || length === 0;
  }

  /** A buffer's size once decoded: its region's, or, compressed, the length its prefix announces. */
  private async decodedSize(offset: number, length: number, what: string): Promise<number> {
    if (this.codec === undefined || length === 0) {
      this.decodedBytes += length;
      return length;
    }
    if (length < 8) this.fail(`${what} is ${length} bytes, too short for a compressed buffer's length prefix`);
    const announced = await this.prefix(offset, length);
    if (announced === undefined) {
      this.decodedBytes += length - 8; // stored uncompressed (prefix -1)
      return length - 8;
    }
    if (announced < 0 || !Number.isSafeInteger(announced)) this.fail(`${what} announces ${announced} bytes`);
    if (this.codec === 0 && announced > (length - 8) * LZ4_MAX_RATIO + 65_536)
      this.fail(
        `${what} announces ${announced} bytes from ${length - 8} LZ4-compressed ones, more than LZ4 can expand to`,
      );
    this.decodedBytes += announced;
    if (this.decodedBytes > MAX_BATCH_BYTES)
      this.fail(`it decodes to more than ${MAX_BATCH_BYTES} bytes (write the table in smaller batches)`);
    return announced;
  }
}

export async function checkBatch(
  source: ByteSource,
  found: FoundMessage,
  header: BatchHeader,
  fields: readonly Field[],
  what: string,
  version: MetadataVersion,
): Promise<void> {
  if (version < MetadataVersion.V4)
    throw new IpcError(`${what} uses Arrow metadata version ${version + 1}, older than 0.15 (re-save the file)`);
  const bodyStart = found.offset + found.metadataLength;
  const compression = header.compression;
  let codec: number | undefined;
  if (compression) {
    codec = compression.type as number;
    if (codec !== 0 && codec !== 1) throw new IpcError(what, 'codec');
    if ((compression.method as number) !== 0)
      throw new IpcError(`${what}: compression method ${compression.method}`, 'codec');
  }
  const prefix: PrefixReader = async (offset) => {
    const bytes = await source.read(bodyStart + offset, 8);
    const value = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0, true);
    if (value === -1n) return undefined;
    return value > BigInt(Number.MAX_SAFE_INTEGER) || value < 0n ? -1 : Number(value);
  };
  await new BatchChecker(header, what, codec, prefix).check(fields, found.bodyLength);
}
