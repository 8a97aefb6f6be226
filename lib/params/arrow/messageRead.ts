/** Reads one IPC message's framing (continuation, length) and checks its flatbuffer before decoding it. */
import { Message } from 'apache-arrow/ipc/metadata/message';
import { Message as FbMessage } from 'apache-arrow/fb/message';
import { Schema as FbSchema } from 'apache-arrow/fb/schema';
import { Endianness } from 'apache-arrow/fb/endianness';
import { MessageHeader } from 'apache-arrow/fb/message-header';
import * as flatbuffers from 'flatbuffers';
import { checkFlatbuffer, FlatbufferError, MESSAGE } from './flatbufferCheck';
import { ByteSource, IpcError } from './ipcError';

/** The stream's continuation marker. */
const CONTINUATION = 0xffffffff;

export function readInt32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt32(at, true);
}

export interface FoundMessage {
  readonly offset: number;
  /** Bytes from `offset` to the body: continuation, length, flatbuffer (and padding). */
  readonly metadataLength: number;
  readonly bodyLength: number;
  readonly message: Message;
}

/** Reads and checks one message's framing and flatbuffer at `offset`; `undefined` at the end-of-stream marker. */
export async function readMessage(
  source: ByteSource,
  offset: number,
  limit: number,
): Promise<FoundMessage | undefined> {
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
