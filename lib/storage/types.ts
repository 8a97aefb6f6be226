/**
 * Output storage under the cloudpath (the `cloudpath` setting): `file://` (or a bare path), `gs://`, `s3://`.
 * Keys are relative to the cloudpath, `/`-separated, never starting with `/` and never containing `..`.
 * Open one with `openStorage(cloudpath)` from `lib/storage`.
 */

export type StorageBody = string | Uint8Array;

export interface PutOptions {
  /** MIME type; defaults from the key's extension, else application/octet-stream. */
  readonly contentType?: string;
}

export interface ListedObject {
  readonly key: string;
  readonly size: number;
}

export interface Storage {
  /** The cloudpath it was opened from, normalised (file: absolute `file://` URL). */
  readonly url: string;
  /** Writes an object. `file://` writes are atomic: a reader sees the old object, the new one, or none. */
  put(key: string, body: StorageBody, options?: PutOptions): Promise<void>;
  /** JSON.stringify + put with application/json. */
  putJson(key: string, value: unknown): Promise<void>;
  /** The object's bytes, or `undefined` when there is none (never throws for a missing object). */
  get(key: string): Promise<Uint8Array | undefined>;
  /** `get` decoded as UTF-8. */
  getText(key: string): Promise<string | undefined>;
  exists(key: string): Promise<boolean>;
  /** For each key, in order, whether it exists; checks run concurrently with a bounded number in flight. */
  existsMany(keys: readonly string[]): Promise<boolean[]>;
  /** Streams the objects whose key starts with `prefix` (default: all), paginating under the hood. */
  list(prefix?: string): AsyncIterable<ListedObject>;
  /** Removes an object; a missing one is fine. */
  delete(key: string): Promise<void>;
}
