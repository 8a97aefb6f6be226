/**
 * The cloud SDKs in files of their own beside the worker's bundles, loaded only by a process that
 * uses them: a worker on a file queue never reads 4 MB of Google Cloud code, and the main thread and
 * the task threads share one copy of each SDK instead of bundling it twice.
 *
 * While the entries bundle, every import of an SDK package from our own code becomes
 * `loadVendorFile(path.join(__dirname, 'aws-sdk.js')).exports['@aws-sdk/client-sqs']` (the package's
 * exports, from the vendor file next to the bundle, loaded once with its code cache, vendorLoader.ts).
 * The vendor file is then built with one lazy getter per package that was imported, so loading it
 * runs no package's code until a getter is read.
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import path from 'node:path';

export interface VendorFile {
  /** File name beside the bundles, e.g. `aws-sdk.js`. */
  readonly file: string;
  /** The packages it holds, by import specifier (a package name or a path inside one). */
  readonly packages: RegExp;
}

export const VENDOR_FILES: readonly VendorFile[] = [
  { file: 'aws-sdk.js', packages: /^@(aws-sdk|smithy)\// },
  { file: 'google-cloud.js', packages: /^(@google-cloud\/|google-gax(\/|$)|@grpc\/)/ },
  // Loaded by the main thread and every task thread alike: one copy on disk instead of two.
  { file: 'shared-packages.js', packages: /^(zod|pino|mime-types)(\/|$)/ },
];

const NAMESPACE = 'vendor-file';
const VENDOR_LOADER = path.join(__dirname, 'vendorLoader.ts');

/** Specifiers our code imported from each vendor file, filled while the entries bundle. */
export type VendorImports = Map<string, Set<string>>;

function isOwnSource(importer: string): boolean {
  return importer !== '' && !importer.split(path.sep).includes('node_modules');
}

/** The esbuild plugin that sends our code's SDK imports to the vendor files, recording each one. */
export function vendorImportsPlugin(imports: VendorImports): Plugin {
  return {
    name: 'vendor-files',
    setup(plugin) {
      plugin.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.namespace !== 'file' || !isOwnSource(args.importer)) return undefined;
        const vendor = VENDOR_FILES.find(({ packages }) => packages.test(args.path));
        if (!vendor) return undefined;
        const specifiers = imports.get(vendor.file) ?? new Set<string>();
        imports.set(vendor.file, specifiers.add(args.path));
        return { path: args.path, namespace: NAMESPACE, pluginData: vendor.file };
      });
      // The vendor file itself is not bundled: it is loaded from beside the bundle at run time, with
      // its code cache when the build made one (vendorLoader.ts, bundled into each entry).
      plugin.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        const vendorFile = JSON.stringify(String(args.pluginData));
        const contents =
          `const { loadVendorFile } = require(${JSON.stringify(VENDOR_LOADER)});\n` +
          `const file = require('node:path').join(__dirname, ${vendorFile});\n` +
          `module.exports = loadVendorFile(file).exports[${JSON.stringify(args.path)}];\n`;
        return { contents, loader: 'js', resolveDir: __dirname };
      });
    },
  };
}

/** Fails when an entry bundled an SDK package after all (imported by a package we bundle): it would load twice. */
export function assertNoVendoredPackageInside(outputs: Metafile['outputs']): void {
  for (const [output, { inputs }] of Object.entries(outputs)) {
    const strays = Object.keys(inputs).filter((input) => {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      return match && VENDOR_FILES.some(({ packages }) => packages.test(`${match[1]}/`));
    });
    if (strays.length > 0)
      throw new Error(
        `${output} bundles ${strays[0]} (and ${strays.length - 1} more) instead of using its vendor file`,
      );
  }
}

/** The vendor file's source: a getter per imported package, each requiring it on first read. */
export function vendorEntrySource(specifiers: Iterable<string>): string {
  const getters = [...specifiers]
    .sort()
    .map(
      (specifier) =>
        `  ${JSON.stringify(specifier)}: { enumerable: true, get: () => require(${JSON.stringify(specifier)}) },`,
    );
  return `Object.defineProperties(module.exports, {\n${getters.join('\n')}\n});\n`;
}

export interface BuiltVendorFile {
  readonly file: string;
  readonly bytes: number;
}

/** Bundles each vendor file that the entries imported from, minified, without a source map. */
export async function buildVendorFiles(
  root: string,
  outdir: string,
  imports: VendorImports,
): Promise<BuiltVendorFile[]> {
  return Promise.all(
    [...imports].map(async ([file, specifiers]) => {
      const outfile = path.join(outdir, file);
      const result = await build({
        absWorkingDir: root,
        stdin: {
          contents: vendorEntrySource(specifiers),
          resolveDir: root,
          sourcefile: `vendor:${file}`,
          loader: 'js',
        },
        outfile,
        bundle: true,
        platform: 'node',
        target: 'node24',
        format: 'cjs',
        // Package code only: local names may go, but function and class names stay for stack traces
        // and for error names the SDKs read back (`error.name`).
        minify: true,
        keepNames: true,
        legalComments: 'none',
        metafile: true,
        logLevel: 'warning',
      });
      return { file: outfile, bytes: result.metafile.outputs[path.relative(root, outfile)]?.bytes ?? 0 };
    }),
  );
}
