/**
 * Checks an Arrow IPC file or stream's structure against the file before apache-arrow decodes a
 * byte of it: the footer, every message's length and flatbuffer, the schema's type parameters, and
 * for every record/dictionary batch its field nodes and buffers against the schema and the file
 * (counts, bounds, order, sizes, and the uncompressed lengths compressed buffers announce).
 *
 * Only metadata (and the 8-byte length prefix of compressed buffers) is read, so the work is
 * bounded by the file's size. Any inconsistency throws an `IpcError` saying what is inconsistent;
 * the caller adds the file's name. The values themselves are checked after decoding (`dataCheck.ts`).
 */
import { DataType, DateUnit, Field, MetadataVersion, Precision, Schema, TimeUnit, Type } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { Message, RecordBatch as BatchHeader } from 'apache-arrow/ipc/metadata/message';
import { Footer as FbFooter } from 'apache-arrow/fb/footer';
import { Message as FbMessage } from 'apache-arrow/fb/message';
import { Schema as FbSchema } from 'apache-arrow/fb/schema';
import { Endianness } from 'apache-arrow/fb/endianness';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import * as flatbuffers from 'flatbuffers';
import { checkFlatbuffer, FlatbufferError, FOOTER, MESSAGE } from './flatbufferCheck';

/** Random access to the file's bytes. */
export interface ByteSource {
  readonly size: number;
  read(position: number, length: number): Promise<Uint8Array>;
}

/** An inconsistency in the file's structure; `message` says what, `batch` where. */
export class IpcError extends Error {
  override readonly name = 'IpcError';
  constructor(
    message: string,
    readonly kind: 'damaged' | 'codec' | 'arrow-0.17' | 'big-endian' = 'damaged',
  ) {
    super(message);
  }
}

/** A record batch with no buffer that grows with its rows (only null columns) holds at most this many rows. */
export const MAX_ROWS_WITHOUT_DATA = 1_000_000;
/** A record batch may decode to at most this many bytes (Feather writers use 64Ki-row batches: megabytes). */
export const MAX_BATCH_BYTES = 1 << 30;
/** Writers align buffers to 8 or 64 bytes: a larger gap between two buffers is not padding. */
const MAX_PADDING = 64;
/** LZ4 cannot expand data by more than this factor (a match of 255-byte length steps per input byte). */
const LZ4_MAX_RATIO = 256;
/** The stream's continuation marker. */
const CONTINUATION = 0xffffffff;

export interface IpcLayout {
  readonly schema: Schema;
  /** Record batches in file order. */
  readonly recordBatches: number;
}

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

function checkFields(fields: readonly Field[], path: string): void {
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

/** What one field's slice of a batch must look like (sizes in bytes, for a node of `length` rows). */
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
          `buffer ${i} (bytes ${region.offset}–${region.offset + region.length}) lies outside its ${bodyLength}-byte body`,
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

function readInt32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(at, true);
}

interface FoundMessage {
  readonly offset: number;
  /** Bytes from `offset` to the body: continuation, length, flatbuffer (and padding). */
  readonly metadataLength: number;
  readonly bodyLength: number;
  readonly message: Message;
}

/** Reads and checks one message's framing and flatbuffer at `offset`; `undefined` at the end-of-stream marker. */
async function readMessage(source: ByteSource, offset: number, limit: number): Promise<FoundMessage | undefined> {
  if (offset + 4 > limit) throw new IpcError(`the message at byte ${offset} is cut off by the end of the data`);
  const head = await source.read(offset, Math.min(8, limit - offset));
  let length = readInt32(head, 0);
  let prefix = 4;
  if (length === -1 || length >>> 0 === CONTINUATION) {
    if (head.length < 8) throw new IpcError(`the message at byte ${offset} is cut off by the end of the data`);
    length = readInt32(head, 4);
    prefix = 8;
  }
  if (length === 0) return undefined;
  if (length < 0 || offset + prefix + length > limit)
    throw new IpcError(
      `the message at byte ${offset} claims ${length} bytes of metadata, past the end of the data (byte ${limit})`,
    );
  const bytes = await source.read(offset + prefix, length);
  try {
    checkFlatbuffer(bytes, MESSAGE);
  } catch (error) {
    if (error instanceof FlatbufferError)
      throw new IpcError(`the message at byte ${offset} is damaged: ${error.message}`);
    throw error;
  }
  const message = Message.decode(bytes);
  const bodyLength = message.bodyLength;
  const metadataLength = prefix + length;
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || offset + metadataLength + bodyLength > limit)
    throw new IpcError(
      `the message at byte ${offset} claims a ${bodyLength}-byte body, past the end of the data (byte ${limit})`,
    );
  const fb = FbMessage.getRootAsMessage(new flatbuffers.ByteBuffer(bytes));
  if (fb.headerType() === MessageHeader.Schema && fb.header(new FbSchema())?.endianness() === Endianness.Big)
    throw new IpcError('it was written on a big-endian machine, which this reader does not decode', 'big-endian');
  return { offset, metadataLength, bodyLength, message };
}

function sameFields(a: readonly Field[], b: readonly Field[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]!.name && String(f.type) === String(b[i]!.type));
}

/** Checks every message of an IPC stream laid out in `[start, limit)`; returns the schema and the record batches' offsets. */
async function checkStream(
  source: ByteSource,
  start: number,
  limit: number,
  knownSchema?: Schema,
): Promise<{ schema: Schema; batches: FoundMessage[]; dictionaries: FoundMessage[]; end: number }> {
  let offset = start;
  let schema = knownSchema;
  let sawSchema = false;
  const batches: FoundMessage[] = [];
  const dictionaries: FoundMessage[] = [];
  for (;;) {
    if (offset === limit && knownSchema) return { schema: schema!, batches, dictionaries, end: offset };
    const found = await readMessage(source, offset, limit);
    if (!found) return { schema: schema ?? fail('it holds no schema'), batches, dictionaries, end: offset + 8 };
    const { message } = found;
    const experimental = message.metadata.get('ARROW:experimental_compression');
    if (experimental !== undefined)
      throw new IpcError(`it marks its batches "${experimental}"-compressed the way Arrow 0.17 did`, 'arrow-0.17');
    if (message.isSchema()) {
      if (sawSchema) throw new IpcError(`it has a second schema at byte ${offset}`);
      const own = message.header();
      checkFields(own.fields, '');
      if (knownSchema && !sameFields(own.fields, knownSchema.fields))
        throw new IpcError('the schema at its start and the one in its footer differ');
      schema = knownSchema ?? own;
      sawSchema = true;
    } else if (!schema) {
      throw new IpcError(`its first message (at byte ${offset}) is not a schema`);
    } else if (message.isRecordBatch()) {
      await checkBatch(
        source,
        found,
        message.header(),
        schema.fields,
        `record batch ${batches.length}`,
        message.version,
      );
      batches.push(found);
    } else if (message.isDictionaryBatch()) {
      const header = message.header();
      const type = schema.dictionaries.get(header.id);
      if (!type)
        throw new IpcError(`dictionary batch ${dictionaries.length} has id ${header.id}, which no column uses`);
      await checkBatch(
        source,
        found,
        header.data,
        [new Field('dictionary', type, true)],
        `dictionary batch ${dictionaries.length}`,
        message.version,
      );
      dictionaries.push(found);
    } else {
      throw new IpcError(`the message at byte ${offset} is of type ${message.headerType}, which a table does not hold`);
    }
    offset += found.metadataLength + found.bodyLength;
  }
}

function fail(problem: string): never {
  throw new IpcError(problem);
}

async function checkBatch(
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

/** Checks an Arrow IPC file (Feather V2): footer, and the stream inside it against the footer's blocks. */
export async function checkIpcFile(source: ByteSource): Promise<IpcLayout> {
  const { size } = source;
  if (size < 8 + 8 + 10) throw new IpcError(`it is ${size} bytes, too short for an Arrow IPC file`);
  const footerLength = readInt32(await source.read(size - 10, 4), 0);
  if (footerLength <= 0 || footerLength > size - 8 - 10)
    throw new IpcError(`its footer claims ${footerLength} bytes, where the file has room for ${size - 18}`);
  const footerStart = size - 10 - footerLength;
  const footerBytes = await source.read(footerStart, footerLength);
  try {
    checkFlatbuffer(footerBytes, FOOTER);
  } catch (error) {
    if (error instanceof FlatbufferError) throw new IpcError(`its footer is damaged: ${error.message}`);
    throw error;
  }
  const fbSchema = FbFooter.getRootAsFooter(new flatbuffers.ByteBuffer(footerBytes)).schema();
  if (!fbSchema) throw new IpcError('its footer holds no schema');
  if (fbSchema.endianness() === Endianness.Big)
    throw new IpcError('it was written on a big-endian machine, which this reader does not decode', 'big-endian');
  const footer = Footer.decode(footerBytes);
  checkFields(footer.schema.fields, '');
  const stream = await checkStream(source, 8, footerStart, footer.schema);
  const blocks = [...footer.recordBatches()];
  const dictionaryBlocks = [...footer.dictionaryBatches()];
  if (blocks.length !== stream.batches.length)
    throw new IpcError(
      `its footer lists ${blocks.length} record batches where the file holds ${stream.batches.length}`,
    );
  if (dictionaryBlocks.length !== stream.dictionaries.length)
    throw new IpcError(
      `its footer lists ${dictionaryBlocks.length} dictionary batches where the file holds ${stream.dictionaries.length}`,
    );
  const compare = (kind: string, listed: typeof blocks, found: FoundMessage[]) =>
    listed.forEach((block, i) => {
      const message = found[i]!;
      if (
        block.offset !== message.offset ||
        block.metaDataLength !== message.metadataLength ||
        block.bodyLength !== message.bodyLength
      )
        throw new IpcError(
          `its footer places ${kind} ${i} at byte ${block.offset} (${block.metaDataLength} + ${block.bodyLength} bytes), where the file has it at byte ${message.offset} (${message.metadataLength} + ${message.bodyLength})`,
        );
    });
  compare('record batch', blocks, stream.batches);
  compare('dictionary batch', dictionaryBlocks, stream.dictionaries);
  return { schema: footer.schema, recordBatches: blocks.length };
}

/** Checks an Arrow IPC stream: every message, and that the end-of-stream marker is the file's end. */
export async function checkIpcStream(source: ByteSource): Promise<IpcLayout> {
  const stream = await checkStream(source, 0, source.size);
  if (stream.end !== source.size)
    throw new IpcError(
      `its end-of-stream marker is at byte ${stream.end - 8}, ${source.size - stream.end} bytes before the end of the file`,
    );
  return { schema: stream.schema, recordBatches: stream.batches.length };
}
