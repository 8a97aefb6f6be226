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
import { Field, Schema } from 'apache-arrow';
import { Footer } from 'apache-arrow/ipc/metadata/file';
import { Footer as FbFooter } from 'apache-arrow/fb/footer';
import { Endianness } from 'apache-arrow/fb/endianness';
import * as flatbuffers from 'flatbuffers';
import { checkBatch } from './batchCheck';
import { checkFlatbuffer, FlatbufferError, FOOTER } from './flatbufferCheck';
import { ByteSource, IpcError } from './ipcError';
import { FoundMessage, readInt32, readMessage } from './messageRead';
import { checkFields } from './schemaCheck';

export interface IpcLayout {
  readonly schema: Schema;
  /** Record batches in file order. */
  readonly recordBatches: number;
}

function sameFields(a: readonly Field[], b: readonly Field[]): boolean {
  return a.length === b.length && a.every((f, i) => f.name === b[i]!.name && String(f.type) === String(b[i]!.type));
}

/**
 * Checks every message of an IPC stream laid out in `[start, limit)`; returns the schema and the record batches'
 * offsets.
 */
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
      `its footer lists ${dictionaryBlocks.length} dictionary batches where the file holds ` +
        `${stream.dictionaries.length}`,
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
          `its footer places ${kind} ${i} at byte ${block.offset} (${block.metaDataLength} + ${block.bodyLength} ` +
            `bytes), where the file has it at byte ${message.offset} (${message.metadataLength} + ` +
            `${message.bodyLength})`,
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
      `its end-of-stream marker is at byte ${stream.end - 8}, ${source.size - stream.end} bytes before the end of ` +
        `the file`,
    );
  return { schema: stream.schema, recordBatches: stream.batches.length };
}
