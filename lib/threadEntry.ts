/**
 * How a module starts a thread of its own code, from the TypeScript sources or from the worker's
 * bundle. Under tsx (`npm run worker`, the commands, the tests) the thread loads the `.ts` file
 * through tsx's require hook, which threads do not inherit; scripts/build-worker.ts bundles each
 * thread entry into a file beside `worker.js` under the name given here.
 */
import path from 'node:path';

export interface ThreadEntry {
  /** A file to run, or (with `eval`) the code that loads it. */
  readonly script: string;
  readonly eval: boolean;
}

/**
 * `sourceFile`: the thread's entry, absolute, as TypeScript; `bundledName`: its bundle beside the
 * calling bundle; `callerFile`: the caller's `__filename`, which says which of the two is running.
 */
export function threadEntry(callerFile: string, sourceFile: string, bundledName: string): ThreadEntry {
  if (!callerFile.endsWith('.ts')) return { script: path.join(path.dirname(callerFile), bundledName), eval: false };
  const hook = require.resolve('tsx/cjs');
  return { script: `require(${JSON.stringify(hook)}); require(${JSON.stringify(sourceFile)});`, eval: true };
}
