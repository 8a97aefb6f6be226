/**
 * Bundles the worker (`worker/main.ts`) and the task code into three CommonJS files,
 * `dist/worker.js` (the main thread), `dist/worker-thread.js` (the task threads' entry) and
 * `dist/fq-thread.js` (the file queue's thread), each with a source map of our own code, plus one
 * file per cloud SDK they use (`aws-sdk.js`, `google-cloud.js`, see worker-bundle/vendorFiles.ts),
 * so the container image needs no `node_modules`, and the V8 code cache of the vendor file a start
 * loads (worker-bundle/codeCache.ts).
 *
 *   npx tsx scripts/build-worker.ts [--outdir DIR]
 *
 * Nothing is external: the AWS SDK, the Google Cloud clients, pino and prom-client all bundle and
 * run. pino must log to stdout directly (no `transport:` option): transports load worker-thread
 * files by path at run time, which a single-file bundle does not have.
 */
import { Command } from 'commander';
import { build } from 'esbuild';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hashSources } from '../lib/runs/codeVersion';
import { writeCodeCaches } from './worker-bundle/codeCache';
import { isOwnSource, keepSources, type SourceMapV3 } from './worker-bundle/ownSourceMap';
import { assertNoVendoredPackageInside, buildVendorFiles, vendorImportsPlugin } from './worker-bundle/vendorFiles';
import type { VendorImports } from './worker-bundle/vendorFiles';

const ROOT = path.resolve(__dirname, '..');

export interface BuildWorkerOptions {
  /** Where `worker.js`, `worker-thread.js`, their maps and the SDK files go; default `dist/`. */
  readonly outdir?: string;
}

export interface BuiltWorker {
  /** `worker.js`, what `node` runs. */
  readonly file: string;
  /** Every file written, all of which the image needs. */
  readonly files: readonly string[];
  /** The two entry bundles. */
  readonly bytes: number;
  readonly mapBytes: number;
  /** The SDK files. */
  readonly vendorBytes: number;
  /** The V8 code caches of the vendor files a start loads (worker-bundle/codeCache.ts). */
  readonly cacheBytes: number;
}

/** Rewrites a map written by esbuild with our own sources' mappings only; returns its new size. */
function trimSourceMap(mapFile: string): number {
  const map = JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapV3;
  const text = JSON.stringify(keepSources(map, isOwnSource));
  writeFileSync(mapFile, text);
  return Buffer.byteLength(text);
}

export async function buildWorker(options: BuildWorkerOptions = {}): Promise<BuiltWorker> {
  const outdir = path.resolve(options.outdir ?? path.join(ROOT, 'dist'));
  const file = path.join(outdir, 'worker.js');
  const thread = path.join(outdir, 'worker-thread.js');
  const fqThread = path.join(outdir, 'fq-thread.js');
  const vendorImports: VendorImports = new Map();
  const result = await build({
    absWorkingDir: ROOT,
    // The task threads' entry (worker/pool.ts loads `worker-thread.js` from beside `worker.js`).
    entryPoints: {
      worker: path.join(ROOT, 'worker', 'main.ts'),
      'worker-thread': path.join(ROOT, 'worker', 'thread.ts'),
      // The file queue's thread (lib/queue/fileQueueThread.ts loads `fq-thread.js` from beside `worker.js`).
      'fq-thread': path.join(ROOT, 'lib', 'queue', 'fileQueueThreadMain.ts'),
    },
    outdir,
    bundle: true,
    // Only resolved when running from TypeScript sources (worker/pool.ts), never in the bundle.
    external: ['tsx/cjs'],
    plugins: [vendorImportsPlugin(vendorImports)],
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // Whitespace and syntax only: identifiers stay readable in stack traces, and error class names
    // (QueueError, TaskMessageError, ...) survive into dead-letter failure records.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    // Maps line numbers back to the TypeScript sources (node --enable-source-maps); the sources
    // themselves are left out to keep the map small, and so are the bundled packages' lines.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // The sources are not in the image: the bundle carries the version they hash to (lib/runs/codeVersion.ts).
    define: { 'process.env.GKE_BATCH_CODE_VERSION': JSON.stringify(hashSources(ROOT)) },
  });
  const outputs = result.metafile.outputs;
  assertNoVendoredPackageInside(outputs);
  const sizeOf = (name: string) => outputs[path.relative(ROOT, name)]?.bytes ?? 0;
  const vendor = await buildVendorFiles(ROOT, outdir, vendorImports);
  const mapBytes = [file, thread, fqThread].reduce((sum, entry) => sum + trimSourceMap(`${entry}.map`), 0);
  // Last: the warm-up run that writes the caches runs the finished files.
  const caches = await writeCodeCaches(outdir);
  return {
    file,
    files: [
      ...[file, thread, fqThread].flatMap((entry) => [entry, `${entry}.map`]),
      ...vendor.map(({ file }) => file),
      ...caches,
    ],
    bytes: sizeOf(file) + sizeOf(thread) + sizeOf(fqThread),
    mapBytes,
    vendorBytes: vendor.reduce((sum, { bytes }) => sum + bytes, 0),
    cacheBytes: caches.reduce((sum, cache) => sum + statSync(cache).size, 0),
  };
}

if (require.main === module) {
  const { outdir } = new Command('npx tsx scripts/build-worker.ts')
    .description('Bundle worker/main.ts and the task code for Node 24 (what the Dockerfile runs).')
    .option('--outdir <dir>', "where worker.js and the files beside it go (default: the project's dist/)")
    .parse()
    .opts<{ outdir?: string }>();
  buildWorker({ outdir }).then(
    ({ file, bytes, mapBytes, vendorBytes, cacheBytes }) => {
      const mb = (n: number) => (n / 1e6).toFixed(2);
      process.stdout.write(
        `built ${path.relative(process.cwd(), file)}, worker-thread.js and fq-thread.js: ${mb(bytes)} MB ` +
          `(+ ${mb(mapBytes)} MB source maps, + ${mb(vendorBytes)} MB cloud SDK files, ` +
          `+ ${mb(cacheBytes)} MB code cache)\n`,
      );
    },
    (error: unknown) => {
      // esbuild has already printed each error with its file and line.
      process.stderr.write(
        `error: bundling the worker failed: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      process.exitCode = 1;
    },
  );
}
