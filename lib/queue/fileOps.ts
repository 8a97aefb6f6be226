/**
 * The small file primitives the file queue is built from. Everything here is synchronous on
 * purpose: the queue's operations are tiny metadata syscalls, and going through libuv's thread
 * pool costs more than the syscall itself (measured: sync create+rename+journal ≈3× faster than
 * async on tmpfs and on ext4).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { makeDirs as makeDirsOrThrow, MakeDirsError } from '../makeDirs';
import { decodeUtf8Strictly } from '../utf8';
import { QueueError } from './errors';

export function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** Appends in one write(2) on an O_APPEND descriptor: atomic with respect to other appenders. */
export function appendLine(file: string, line: string): void {
  fs.appendFileSync(file, line);
}

/** Appends and returns the file's size afterwards (the tally of a one-byte append, or a journal's length). */
export function appendSized(file: string, data: string | Uint8Array): number {
  return appendSizedAndClose(fs.openSync(file, 'a'), data);
}

/** `appendSized` on a descriptor opened for appending, which it closes. */
export function appendSizedAndClose(fd: number, data: string | Uint8Array): number {
  try {
    if (typeof data === 'string') fs.writeSync(fd, data);
    else fs.writeSync(fd, data);
    return fs.fstatSync(fd).size;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Opens an existing file for appending; undefined when there is none (never creates it). One
 * system call that both tells whether the file exists and opens it for the append that follows.
 */
export function openAppendIfPresent(file: string): number | undefined {
  try {
    return fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Removes a file; false when it was not there. */
export function unlinkIfPresent(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return 0;
    throw error;
  }
}

/**
 * Writes a file whole, atomically: a temporary file beside the target's folder root (`stagingDir`,
 * the queue root, which every queue has: python-task-queue never makes our folders), then rename.
 */
export function writeFileAtomic(stagingDir: string, target: string, content: string): void {
  const tmp = path.join(stagingDir, `.tmp-${process.pid}-${randomUUID()}`);
  fs.writeFileSync(tmp, content);
  try {
    fs.renameSync(tmp, target);
  } catch (error) {
    unlinkIfPresent(tmp);
    throw error;
  }
}

/** `mkdir -p` that always ends (lib/makeDirs.ts), its refusals as queue errors. */
export function makeDirs(dir: string): void {
  try {
    makeDirsOrThrow(dir);
  } catch (error) {
    if (!(error instanceof MakeDirsError)) throw error;
    const fix =
      error.code === 'ENOTDIR'
        ? 'point the queue URL at a directory (or at a path where one can be created), e.g. fq:///srv/queues/job'
        : 'put the queue on a real, writable file system';
    throw new QueueError('InvalidQueuePath', error.message, fix, { cause: error.cause ?? error });
  }
}

/** A regular file's bytes, `size` from its fstat (readFileSync would fstat it again). */
function readWhole(fd: number, size: number): Buffer {
  if (size === 0) return fs.readFileSync(fd); // reports no size: read to the end
  const bytes = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const read = fs.readSync(fd, bytes, filled, size - filled, null);
    if (read === 0) break;
    filled += read;
  }
  return filled === size ? bytes : bytes.subarray(0, filled);
}

/** What was found under a task file's name. */
export type TaskFileRead =
  | { readonly kind: 'file'; readonly body: string }
  | { readonly kind: 'gone' }
  | { readonly kind: 'broken'; readonly what: string };

/**
 * Reads a task file that must be a regular file. O_NONBLOCK so a FIFO named like a task file
 * cannot block the worker; a directory, device, socket, dangling symlink or symlink loop is
 * reported as broken (never thrown), so the caller can take it out of the queue.
 */
export function readTaskFile(file: string): TaskFileRead {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ELOOP') return { kind: 'broken', what: 'a symbolic link loop' };
    if (code !== 'ENOENT') throw error;
    try {
      if (fs.lstatSync(file).isSymbolicLink()) return { kind: 'broken', what: 'a dangling symbolic link' };
    } catch (lstatError) {
      if (errnoCode(lstatError) !== 'ENOENT') throw lstatError;
    }
    return { kind: 'gone' };
  }
  try {
    const stats = fs.fstatSync(fd);
    if (!stats.isFile()) return { kind: 'broken', what: describeNonFile(stats) };
    const bytes = readWhole(fd, stats.size);
    // Decoded leniently, its bad bytes would reach the task as U+FFFD without a word.
    const decoded = decodeUtf8Strictly(bytes);
    return decoded.ok
      ? { kind: 'file', body: decoded.text }
      : { kind: 'broken', what: `not UTF-8 text (${decoded.where})` };
  } finally {
    fs.closeSync(fd);
  }
}

function describeNonFile(stats: fs.Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a named pipe';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/** Modification time in ms, or undefined when the file is gone. */
export function modifiedAt(file: string): number | undefined {
  try {
    return fs.statSync(file).mtimeMs;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Empties a folder (entries may be directories: those moved to broken/); a missing folder is empty. */
export async function removeEntriesIn(dir: string): Promise<void> {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  for (let i = 0; i < names.length; i++) {
    const entry = path.join(dir, names[i]!);
    try {
      unlinkIfPresent(entry);
    } catch (error) {
      if (errnoCode(error) !== 'EISDIR' && errnoCode(error) !== 'EPERM') throw error;
      fs.rmSync(entry, { recursive: true, force: true });
    }
    if (i % 10_000 === 9_999) await yieldToEventLoop();
  }
}
