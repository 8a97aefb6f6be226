/** Types for the parts of `lz4js` (plain CommonJS, ships none) that the Arrow codecs use. */
declare module 'lz4js' {
  /**
   * Decompresses one LZ4 frame. `maxSize` sizes the output buffer; without it the library scans
   * the frame for an upper bound. The result is trimmed to the bytes actually written.
   */
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  /** Compresses to one LZ4 frame. */
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array;
}
