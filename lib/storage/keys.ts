/**
 * Key rules, the same on every backend so a task that works on file:// works on gs:// and s3://:
 * relative, `/`-separated, no empty, `.` or `..` segments, no NUL, and no last segment that starts
 * with the prefix file:// reserves for its in-flight temp files.
 */
import { StorageError } from './errors';

/** file:// writes go to `<folder>/.tmp-<random>` first; `list()` and key rules keep them invisible. */
export const TEMP_PREFIX = '.tmp-';

const KEY_HINT =
  'use a relative key such as "results/0001.json": "/" between segments, no leading "/", no empty, "." ' +
  'or ".." segments';

function problemWithSegments(value: string, allowTrailingSlash: boolean): string | undefined {
  if (value.includes('\0')) return 'contains a NUL character';
  if (value.startsWith('/')) return 'starts with "/"';
  const segments = value.split('/');
  if (allowTrailingSlash && segments.at(-1) === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') return 'has an empty segment ("//" or a trailing "/")';
    if (segment === '.' || segment === '..') return `has a "${segment}" segment`;
  }
  return undefined;
}

/** Throws an InvalidKey StorageError naming the key unless it follows the key rules. */
export function validateKey(key: string, cloudpath: string): void {
  if (typeof key !== 'string' || key === '') {
    throw new StorageError(
      'InvalidKey',
      `invalid key ${JSON.stringify(key)} under ${cloudpath}: it is empty`,
      KEY_HINT,
    );
  }
  const problem = problemWithSegments(key, false);
  if (problem)
    throw new StorageError(
      'InvalidKey',
      `invalid key ${JSON.stringify(key)} under ${cloudpath}: it ${problem}`,
      KEY_HINT,
    );
  const last = key.slice(key.lastIndexOf('/') + 1);
  if (last.startsWith(TEMP_PREFIX)) {
    throw new StorageError(
      'InvalidKey',
      `invalid key ${JSON.stringify(key)} under ${cloudpath}: names starting with "${TEMP_PREFIX}" are ` +
        `reserved for file:// in-flight writes`,
      `rename the object so its last segment does not start with "${TEMP_PREFIX}"`,
    );
  }
}

/**
 * Throws unless `prefix` can start keys: a key prefix is not a folder, so "out/a" matches
 * "out/a1.json" and "out/a/b.json"; a trailing "/" is allowed.
 */
export function validatePrefix(prefix: string, cloudpath: string): void {
  if (prefix === '') return;
  const problem = problemWithSegments(prefix, true);
  if (problem)
    throw new StorageError(
      'InvalidKey',
      `invalid list prefix ${JSON.stringify(prefix)} under ${cloudpath}: it ${problem}`,
      KEY_HINT,
    );
}

/** The content type for a key: from its extension, else application/octet-stream. */
export function contentTypeFor(key: string): string {
  // Loaded on first use: parsing its table of types costs every command's start-up (status reads no object).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { lookup } = require('mime-types') as typeof import('mime-types');
  return lookup(key) || 'application/octet-stream';
}
