/** The errors the Arrow IPC checks raise, and the random access to a file's bytes they read through. */

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
