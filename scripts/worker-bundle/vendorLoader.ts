/**
 * Runs inside the bundles, not at build time: loads a vendor file (vendorFiles.ts) as CommonJS
 * through `vm.Script`, with the V8 code cache the build made for it (`FILE.cache`, codeCache.ts).
 * That cache was taken at the end of a real worker run, so it holds the functions compiled while
 * the worker started and ran a task, not only the file's top level (all that Node's own compile
 * cache keeps). A cache of another source (checked by hash here), of another Node or V8 flags
 * (checked by V8) is ignored, and the file compiles as it would without one.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { isMainThread } from 'node:worker_threads';

/** What became of the file's code cache. */
export type CacheUse = 'used' | 'absent' | 'stale' | 'rejected';

export interface LoadedVendorFile {
  readonly exports: Record<string, unknown>;
  readonly cache: CacheUse;
}

/**
 * Unset in a worker's normal run. `write`: the build's warm-up run, whose main thread writes the
 * cache of each file it loaded at exit. `report`: each thread says on stderr what became of each
 * file's cache (the tests).
 */
export const CODE_CACHE_ENV = 'GKE_BATCH_CODE_CACHE';

/** A cache file is the SHA-256 of the source it was made from, then V8's data. */
const HASH_BYTES = 32;

export const cacheFileOf = (file: string): string => `${file}.cache`;

export function sourceHash(source: Buffer): Buffer {
  return createHash('sha256').update(source).digest();
}

const loaded = new Map<string, LoadedVendorFile>();

/** V8's data from `FILE.cache` if it was made from this source, else why not. */
function readCache(file: string, hash: Buffer): Buffer | CacheUse {
  let stored: Buffer;
  try {
    stored = readFileSync(cacheFileOf(file));
  } catch {
    return 'absent';
  }
  // V8 itself compares only the source's length.
  return stored.subarray(0, HASH_BYTES).equals(hash) ? stored.subarray(HASH_BYTES) : 'stale';
}

/** The file's exports, loaded once per thread (as `require` would). */
export function loadVendorFile(file: string): LoadedVendorFile {
  const known = loaded.get(file);
  if (known) return known;
  const source = readFileSync(file);
  const hash = sourceHash(source);
  const cached = readCache(file, hash);
  const cachedData = typeof cached === 'string' ? undefined : cached;
  // The file's first line is the wrapper's second: lineOffset keeps stack traces' lines and columns.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {\n${source}\n})`, {
    filename: file,
    lineOffset: -1,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const cache: CacheUse = typeof cached === 'string' ? cached : script.cachedDataRejected ? 'rejected' : 'used';
  const module = new Module(file);
  module.filename = file;
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  module.loaded = true;
  const result = { exports: module.exports as Record<string, unknown>, cache };
  loaded.set(file, result);
  const mode = process.env[CODE_CACHE_ENV];
  if (mode === 'report') process.stderr.write(`code cache of ${file}: ${cache}\n`);
  if (mode === 'write' && isMainThread) {
    // At exit: by then the cache holds every function the run compiled.
    process.once('exit', () => writeFileSync(cacheFileOf(file), Buffer.concat([hash, script.createCachedData()])));
  }
  return result;
}
