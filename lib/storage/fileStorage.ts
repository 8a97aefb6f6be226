/**
 * file:// storage: one file per object under a local folder, key segments as sub-folders.
 *
 * Writes are atomic: the bytes go to `<folder>/.tmp-<random>` (created exclusively, so concurrent
 * writers never share one), are fsynced, then renamed over the key. A reader, `exists` or the skip
 * filter sees the old object, the new one or none, never a part, even if the writer is killed.
 * fsync before the rename is what makes that hold after a power loss too (without it the rename
 * can reach the disk before the data on some file systems). The folder is not fsynced after the
 * rename: after a power loss a just-written object may be missing, which only means its task runs
 * again.
 * A killed writer leaves its `.tmp-*` file behind; `list()` skips those and keys may not name them.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { open, opendir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { makeDirs, MakeDirsError } from '../makeDirs';
import { describe, StorageError } from './errors';
import { TEMP_PREFIX } from './keys';
import { ObjectStorage } from './objectStorage';
import type { ListedObject } from './types';

type Operation = 'put' | 'get' | 'exists' | 'list' | 'delete';

/** Error codes that mean "there is no object at this key" when reading. */
const NO_OBJECT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

export class FileStorage extends ObjectStorage {
  /** Local disks gain little from more parallel stats, and file handles are finite. */
  protected readonly existsConcurrency = 8;

  constructor(
    /** Absolute folder that holds the objects. */
    readonly dir: string,
  ) {
    super(`file://${dir}`);
  }

  private pathOf(key: string): string {
    return path.join(this.dir, ...key.split('/'));
  }

  protected async putObject(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    const folder = path.dirname(target);
    try {
      makeDirs(folder); // not mkdir({ recursive }): it never ends under /proc
    } catch (error) {
      throw this.fail('put', key, error);
    }
    const temp = path.join(folder, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    let renamed = false;
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
      renamed = true;
    } catch (error) {
      throw this.fail('put', key, error);
    } finally {
      if (!renamed) await unlink(temp).catch(() => undefined);
    }
  }

  protected async getObject(key: string): Promise<Uint8Array | undefined> {
    try {
      const contents = await readFile(this.pathOf(key));
      // A plain Uint8Array view of the same memory (no copy), like the cloud backends return.
      return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
    } catch (error) {
      if (NO_OBJECT.has((error as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw this.fail('get', key, error);
    }
  }

  protected async objectExists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if (NO_OBJECT.has((error as NodeJS.ErrnoException).code ?? '')) return false;
      throw this.fail('exists', key, error);
    }
  }

  protected async deleteObject(key: string): Promise<void> {
    try {
      await unlink(this.pathOf(key));
    } catch (error) {
      // A folder at the key is not an object either; Linux reports EISDIR, macOS EPERM.
      if (NO_OBJECT.has((error as NodeJS.ErrnoException).code ?? '')) return;
      throw this.fail('delete', key, error);
    }
  }

  /**
   * Walks the folders lazily, depth first, in directory order (not sorted), descending only into
   * folders that can hold keys with this prefix. Symbolic links to files are listed; links to
   * folders are not followed (no cycles).
   */
  protected async *listObjects(prefix: string): AsyncGenerator<ListedObject> {
    yield* this.walk('', prefix);
  }

  private async *walk(folderKey: string, prefix: string): AsyncGenerator<ListedObject> {
    const folder = folderKey === '' ? this.dir : this.pathOf(folderKey);
    let entries: AsyncIterable<Dirent>;
    try {
      entries = await opendir(folder, { bufferSize: 256 });
    } catch (error) {
      if (NO_OBJECT.has((error as NodeJS.ErrnoException).code ?? '')) return;
      throw this.fail('list', prefix, error);
    }
    for await (const entry of entries) {
      const key = folderKey === '' ? entry.name : `${folderKey}/${entry.name}`;
      if (entry.isDirectory()) {
        const asFolder = `${key}/`;
        if (asFolder.startsWith(prefix) || prefix.startsWith(asFolder)) yield* this.walk(key, prefix);
      } else if (
        (entry.isFile() || entry.isSymbolicLink()) &&
        key.startsWith(prefix) &&
        !entry.name.startsWith(TEMP_PREFIX)
      ) {
        const info = await stat(path.join(folder, entry.name)).catch(() => undefined);
        // Gone since the folder was read (deleted, or a temp renamed away), or a link to a folder.
        if (info?.isFile()) yield { key, size: info.size };
      }
    }
  }

  private fail(operation: Operation, key: string, error: unknown): StorageError {
    const code = (error as NodeJS.ErrnoException).code;
    const where = `${operation} ${JSON.stringify(key)} under ${this.url}`;
    if (error instanceof MakeDirsError && error.code === 'ENOENT') {
      return new StorageError('NotFound', `${where}: ${error.message}`, `${error.fix}, or choose another cloudpath`, {
        cause: error,
      });
    }
    switch (code) {
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return new StorageError(
          'PermissionDenied',
          `${where}: ${describe(error)}`,
          `make ${this.dir} writable by this user, or choose another cloudpath`,
          { cause: error },
        );
      case 'ENOTDIR':
      case 'EEXIST':
      case 'EISDIR':
        return new StorageError(
          'InvalidKey',
          `${where}: a key cannot name both an object and a folder on file:// (${describe(error)})`,
          'choose keys where no key is a prefix folder of another, e.g. "a.json" and "a/b.json" cannot both exist',
          { cause: error },
        );
      case 'ENAMETOOLONG':
        return new StorageError(
          'InvalidKey',
          `${where}: the key is too long for this file system`,
          'keep each key segment under 255 bytes',
          { cause: error },
        );
      case 'ENOSPC':
      case 'EDQUOT':
        return new StorageError('BackendError', `${where}: the disk is full`, `free space under ${this.dir}`, {
          cause: error,
        });
      default:
        return new StorageError('BackendError', `${where}: ${describe(error)}`, undefined, { cause: error });
    }
  }
}
