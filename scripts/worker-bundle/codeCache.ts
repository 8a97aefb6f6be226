/**
 * The vendor files' V8 code caches (read by vendorLoader.ts), made at build time by one real start
 * of the built worker, with the image's flags, on an empty file queue in a temp folder: each cache
 * it writes at exit holds the functions that start compiled, so a container's start (and each of
 * its task threads') skips compiling them. Only the files that start loaded get one (on a file
 * queue: shared-packages.js); the others load as before.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createQueue } from '../../lib/queue';
import { VENDOR_FILES } from './vendorFiles';
import { cacheFileOf, CODE_CACHE_ENV } from './vendorLoader';

/** The flags the image starts `worker.js` with (the Dockerfile's ENTRYPOINT): V8 checks a cache against them. */
export const WORKER_NODE_FLAGS = ['--enable-source-maps'];

/** Runs `node worker.js` once to write the caches; resolves with the cache files written. */
export async function writeCodeCaches(outdir: string): Promise<string[]> {
  const caches = VENDOR_FILES.map(({ file }) => cacheFileOf(path.join(outdir, file)));
  for (const cache of caches) rmSync(cache, { force: true });
  const dir = mkdtempSync(path.join(tmpdir(), 'worker-code-cache-'));
  try {
    const queueUrl = await createQueue(`fq://${path.join(dir, 'queue')}`);
    const env = {
      ...process.env,
      TASKQUEUE_PATH: queueUrl,
      CF_CLOUDPATH: `file://${path.join(dir, 'outputs')}`,
      WORKER_EXIT_WHEN_EMPTY: '1',
      NODE_ENV: 'production',
      [CODE_CACHE_ENV]: 'write',
    };
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, path.join(outdir, 'worker.js')], {
        cwd: dir,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('error', reject);
      child.once('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`the warm-up run of worker.js exited ${code}: ${stderr.trim()}`)),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return caches.filter((cache) => existsSync(cache));
}
