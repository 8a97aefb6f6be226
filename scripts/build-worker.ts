/**
 * Bundles the worker (`worker/main.ts`) and the task code into two CommonJS files,
 * `dist/worker.js` (the main thread) and `dist/worker-thread.js` (the task threads' entry), each
 * with its `.map`, so the container image needs no `node_modules`.
 *
 *   npx tsx scripts/build-worker.ts [--outdir DIR]
 *
 * Nothing is external: the AWS SDK, the Google Cloud Storage client, pino and prom-client all bundle
 * and run. pino must log to stdout directly (no `transport:` option): transports load worker-thread
 * files by path at run time, which a single-file bundle does not have.
 */
import { Command } from 'commander';
import { build, type Metafile } from 'esbuild';
import path from 'node:path';
import { hashSources } from '../lib/runs/codeVersion';

const ROOT = path.resolve(__dirname, '..');

export interface BuildWorkerOptions {
  /** Where `worker.js`, `worker-thread.js` and their maps go; default `dist/`. */
  readonly outdir?: string;
}

export interface BuiltWorker {
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
}

export async function buildWorker(options: BuildWorkerOptions = {}): Promise<BuiltWorker> {
  const outdir = path.resolve(options.outdir ?? path.join(ROOT, 'dist'));
  const file = path.join(outdir, 'worker.js');
  const result = await build({
    absWorkingDir: ROOT,
    // The task threads' entry (worker/pool.ts loads `worker-thread.js` from beside `worker.js`).
    entryPoints: {
      worker: path.join(ROOT, 'worker', 'main.ts'),
      'worker-thread': path.join(ROOT, 'worker', 'thread.ts'),
    },
    outdir,
    bundle: true,
    // Only resolved when running from TypeScript sources (worker/pool.ts), never in the bundle.
    external: ['tsx/cjs'],
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    // Whitespace and syntax only: identifiers stay readable in stack traces, and error class names
    // (QueueError, TaskMessageError, ...) survive into dead-letter failure records.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    // Maps line numbers back to the TypeScript sources (node --enable-source-maps); the sources
    // themselves are left out to keep the map small.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    // The sources are not in the image: the bundle carries the version they hash to (lib/runs/codeVersion.ts).
    define: { 'process.env.GKE_BATCH_CODE_VERSION': JSON.stringify(hashSources(ROOT)) },
  });
  const outputs: Metafile['outputs'] = result.metafile.outputs;
  const sizeOf = (name: string) => outputs[path.relative(ROOT, name)]?.bytes ?? 0;
  const thread = path.join(outdir, 'worker-thread.js');
  return {
    file,
    bytes: sizeOf(file) + sizeOf(thread),
    mapBytes: sizeOf(`${file}.map`) + sizeOf(`${thread}.map`),
  };
}

if (require.main === module) {
  const { outdir } = new Command('npx tsx scripts/build-worker.ts')
    .description('Bundle worker/main.ts and the task code into one file for Node 24 (what the Dockerfile runs).')
    .option('--outdir <dir>', "where worker.js and worker.js.map go (default: the project's dist/)")
    .parse()
    .opts<{ outdir?: string }>();
  buildWorker({ outdir }).then(
    ({ file, bytes, mapBytes }) => {
      const mb = (n: number) => (n / 1e6).toFixed(1);
      process.stdout.write(
        `built ${path.relative(process.cwd(), file)}: ${mb(bytes)} MB (+ ${mb(mapBytes)} MB source map)\n`,
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
