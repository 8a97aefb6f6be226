/**
 * LZ4_FRAME and ZSTD decoders for apache-arrow's IPC reader, which ships none: pandas' `to_feather`
 * compresses with LZ4 by default, pyarrow and R can write ZSTD. Importing this module registers them.
 *
 * No encoders: apache-arrow 21's writer puts the compressed length where the format wants the
 * uncompressed one (fixed upstream in arrow-js#470), so its compressed files are invalid anyway.
 */
import { Codec, CompressionType, compressionRegistry } from 'apache-arrow';
import { decompress as zstdDecompress } from 'fzstd';
import { decompress as lz4Decompress } from 'lz4js';

/** Thrown when a compressed buffer does not decode to the length its prefix announces. */
export class CorruptBufferError extends Error {
  override readonly name = 'CorruptBufferError';
}

/**
 * Arrow writes each compressed buffer as `<int64 uncompressed length><compressed bytes>`, and the
 * reader hands the codec the bytes just after that prefix, as a view into the message body. Read
 * the announced length back so a corrupt buffer fails loudly instead of decoding short.
 */
function announcedLength(compressed: Uint8Array): number | undefined {
  if (compressed.byteOffset < 8) return undefined;
  const prefix = new DataView(compressed.buffer, compressed.byteOffset - 8, 8).getBigInt64(0, true);
  return prefix >= 0n && prefix <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(prefix) : undefined;
}

const LZ4_MAGIC = 0x184d2204;
/** The block sizes an LZ4 frame may declare (its BD byte's 4..7), in bytes. */
const LZ4_BLOCK_SIZES: Record<number, number> = { 4: 1 << 16, 5: 1 << 18, 6: 1 << 20, 7: 1 << 22 };

/**
 * Walks an LZ4 frame's header and block sizes before lz4js decodes it: lz4js trusts them, and a
 * damaged block size makes it copy billions of (missing) bytes. Every block must lie inside the
 * buffer, and a declared content size must be the length the Arrow prefix announces.
 */
export function checkLz4Frame(frame: Uint8Array, expected: number | undefined): void {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const bad = (problem: string): never => {
    throw new Error(`not an LZ4 frame: ${problem}`);
  };
  if (frame.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) bad('no LZ4 frame magic number');
  const flags = frame[4]!;
  if (flags >> 6 !== 1) bad(`frame version ${flags >> 6}`);
  const blockMax = LZ4_BLOCK_SIZES[(frame[5]! >> 4) & 7] ?? bad(`block size code ${(frame[5]! >> 4) & 7}`);
  let at = 6;
  if (flags & 0x08) {
    if (frame.length < at + 8) bad('its header is cut off');
    const contentSize = view.getBigUint64(at, true);
    if (expected !== undefined && contentSize !== BigInt(expected))
      bad(`it declares ${contentSize} bytes of content where the file announces ${expected}`);
    at += 8;
  }
  at += 1; // header checksum
  const blockChecksum = (flags & 0x10) !== 0;
  for (;;) {
    if (at + 4 > frame.length) bad('it ends without its end mark');
    const word = view.getUint32(at, true);
    at += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    if (size > blockMax) bad(`a block of ${size} bytes in a frame of ${blockMax}-byte blocks`);
    at += size + (blockChecksum ? 4 : 0);
    if (at > frame.length) bad(`a block of ${size} bytes runs past the buffer's end`);
  }
}

/**
 * Arrow builds typed-array views straight onto the decoded bytes; a BigInt64Array or Float64Array
 * view needs a byte offset divisible by 8, and fzstd can return a view into a larger buffer that is
 * not. Copy those into a fresh (aligned) buffer.
 */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
}

function checked(name: string, decode: (compressed: Uint8Array, expected?: number) => Uint8Array): Codec {
  return {
    decode(compressed: Uint8Array): Uint8Array {
      const expected = announcedLength(compressed);
      let decoded: Uint8Array;
      try {
        decoded = decode(compressed, expected);
      } catch (error) {
        throw new CorruptBufferError(`a ${name}-compressed buffer does not decode (${(error as Error).message})`);
      }
      if (expected !== undefined && decoded.length !== expected) {
        const writerBug =
          expected === compressed.length
            ? '; the file stores the compressed length there, as apache-arrow JS writers up to version 21 do ' +
              '(pyarrow rejects these files too): write it uncompressed'
            : '';
        throw new CorruptBufferError(
          `a ${name}-compressed buffer decoded to ${decoded.length} bytes where the file announces ` +
            `${expected}${writerBug}`,
        );
      }
      return aligned(decoded);
    },
  };
}

// lz4js is given one byte more than the announced length as its output size: that bounds the memory
// a damaged frame can claim, and an oversized result still shows (as announced + 1 bytes) instead of
// being clipped to the announced length. (The file's structure check has bounded the announced
// lengths by what the batch's rows need.)
export const lz4FrameCodec: Codec = checked('LZ4_FRAME', (compressed, expected) => {
  checkLz4Frame(compressed, expected);
  return lz4Decompress(compressed, expected === undefined ? undefined : expected + 1);
});
export const zstdCodec: Codec = checked('ZSTD', (compressed) => zstdDecompress(compressed));

/** Registers the decoders (idempotent: the registry keeps one codec per type). */
export function registerCodecs(): void {
  compressionRegistry.set(CompressionType.LZ4_FRAME, lz4FrameCodec);
  compressionRegistry.set(CompressionType.ZSTD, zstdCodec);
}

registerCodecs();
