/**
 * What every backend shares: key validation, body encoding, content types, JSON and text helpers
 * and bounded-concurrency `existsMany`. A backend implements the five object operations on keys
 * that are already validated.
 */
import { mapBounded } from './bounded';
import { contentTypeFor, validateKey, validatePrefix } from './keys';
import type { ListedObject, PutOptions, Storage, StorageBody } from './types';

export abstract class ObjectStorage implements Storage {
  /** Checks `existsMany` keeps in flight at once. */
  protected abstract readonly existsConcurrency: number;

  constructor(readonly url: string) {}

  protected abstract putObject(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  protected abstract getObject(key: string): Promise<Uint8Array | undefined>;
  protected abstract objectExists(key: string): Promise<boolean>;
  protected abstract listObjects(prefix: string): AsyncIterable<ListedObject>;
  protected abstract deleteObject(key: string): Promise<void>;

  async put(key: string, body: StorageBody, options: PutOptions = {}): Promise<void> {
    validateKey(key, this.url);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    await this.putObject(key, bytes, options.contentType ?? contentTypeFor(key));
  }

  async putJson(key: string, value: unknown): Promise<void> {
    const text = JSON.stringify(value);
    if (text === undefined)
      throw new TypeError(
        `putJson(${JSON.stringify(key)}): the value cannot be written as JSON (it is ${typeof value})`,
      );
    await this.put(key, text, { contentType: 'application/json' });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    validateKey(key, this.url);
    return this.getObject(key);
  }

  async getText(key: string): Promise<string | undefined> {
    const bytes = await this.get(key);
    return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
  }

  async exists(key: string): Promise<boolean> {
    validateKey(key, this.url);
    return this.objectExists(key);
  }

  async existsMany(keys: readonly string[]): Promise<boolean[]> {
    // Validate everything first: one bad key fails the call before any request is made.
    for (const key of keys) validateKey(key, this.url);
    return mapBounded(keys, this.existsConcurrency, (key) => this.objectExists(key));
  }

  list(prefix = ''): AsyncIterable<ListedObject> {
    validatePrefix(prefix, this.url);
    return this.listObjects(prefix);
  }

  async delete(key: string): Promise<void> {
    validateKey(key, this.url);
    await this.deleteObject(key);
  }
}
