/**
 * `mkdir -p` that always ends. Node's recursive mkdir loops forever where a parent exists but
 * refuses new entries with ENOENT (/proc, some FUSE mounts), so each level is made by hand and
 * tried at most twice. Shared by the file queue and file:// storage.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Why a folder could not be made, in words a user can act on (`fix` says how). */
export class MakeDirsError extends Error {
  constructor(
    /** ENOTDIR: something else is at the path; ENOENT: a parent refuses new entries or is missing. */
    readonly code: 'ENOTDIR' | 'ENOENT',
    message: string,
    readonly fix: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'MakeDirsError';
  }
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function requireDirectory(dir: string): void {
  if (fs.statSync(dir).isDirectory()) return;
  throw new MakeDirsError(
    'ENOTDIR',
    `${dir} exists and is not a directory`,
    'point it at a directory, or at a path where one can be made',
  );
}

/** Makes `dir` and its missing parents; an existing directory is fine. */
export function makeDirs(dir: string): void {
  try {
    fs.mkdirSync(dir);
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return requireDirectory(dir);
    if (code !== 'ENOENT') throw error;
  }
  const parent = path.dirname(dir);
  if (parent === dir)
    throw new MakeDirsError('ENOENT', `the file system root ${dir} does not exist`, 'use an existing file system');
  makeDirs(parent);
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EEXIST') return requireDirectory(dir);
    if (code !== 'ENOENT') throw error;
    throw new MakeDirsError(
      'ENOENT',
      `cannot create the directory ${dir}: its parent ${parent} exists but refuses new entries ` +
        '(ENOENT; a virtual file system such as /proc?)',
      'use a folder on a real, writable file system',
      { cause: error },
    );
  }
}
