/**
 * Builds a Feather/IPC stream laid out the way pyarrow 0.17 wrote compressed files (2020), from the
 * format's description: each record batch's buffers are compressed exactly as today (an int64
 * uncompressed length, then an LZ4 frame), but the message has no BodyCompression field; instead
 * its custom metadata says `ARROW:experimental_compression = LZ4` (Arrow C++ still reads that key,
 * see `GetCompressionExperimental` in its ipc/reader.cc). Made from a current LZ4 stream written
 * by Arrow C++ (the fixture), by re-encoding each batch's message header without the field.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { MessageHeader, MetadataVersion } from 'apache-arrow';
import { Message, RecordBatch } from 'apache-arrow/ipc/metadata/message';

function frame(metadata: Uint8Array): Buffer {
  const padded = Math.ceil(metadata.length / 8) * 8;
  const out = Buffer.alloc(8 + padded);
  out.writeUInt32LE(0xffffffff, 0);
  out.writeInt32LE(padded, 4);
  out.set(metadata, 8);
  return out;
}

/** Rewrites the LZ4 IPC stream `source` into `target` in pyarrow 0.17's compressed layout. */
export function writeArrow017Stream(source: string, target: string, codecName = 'LZ4'): void {
  const bytes = readFileSync(source);
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const start = pos;
    if (bytes.readUInt32LE(pos) === 0xffffffff) pos += 4;
    const length = bytes.readInt32LE(pos);
    pos += 4;
    if (length === 0) {
      parts.push(bytes.subarray(start, pos));
      break;
    }
    const metadata = bytes.subarray(pos, pos + length);
    const message = Message.decode(metadata);
    const body = bytes.subarray(pos + length, pos + length + message.bodyLength);
    if (message.isRecordBatch()) {
      const header = message.header();
      if (!header.compression) throw new Error(`${source}: expected LZ4-compressed record batches`);
      const bare = new RecordBatch(header.length, header.nodes, header.buffers, null);
      const old = new Message(
        message.bodyLength,
        MetadataVersion.V4,
        MessageHeader.RecordBatch,
        bare,
        new Map([['ARROW:experimental_compression', codecName]]),
      );
      parts.push(frame(Message.encode(old)), body);
    } else {
      parts.push(bytes.subarray(start, pos + length + message.bodyLength));
    }
    pos += length + message.bodyLength;
  }
  writeFileSync(target, Buffer.concat(parts));
}
