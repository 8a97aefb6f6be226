/**
 * The code version a run was inserted with and a worker runs: `src-` + 12 hex digits of a SHA-256
 * over every `.ts` file in `lib/`, `tasks/` and `worker/` (relative path and bytes, sorted by path).
 * The same sources give the same version on a laptop and in the image: the bundle
 * (scripts/build-worker.ts) replaces `process.env.GKE_BATCH_CODE_VERSION` with the value computed
 * at build time, where the sources are no longer around. The variable also overrides it by hand.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SOURCE_DIRS = ['lib', 'tasks', 'worker'];
const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

function sourceFiles(root: string): string[] {
  const files: string[] = [];
  for (const dir of SOURCE_DIRS) {
    let entries;
    try {
      entries = readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true });
    } catch {
      continue; // a folder that is not there contributes nothing
    }
    for (const entry of entries) {
      if (entry.isFile() && entry.name.endsWith('.ts')) {
        files.push(path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
      }
    }
  }
  return files.sort();
}

/** Hashes the sources under `root` (default: this project). */
export function hashSources(root: string = PROJECT_ROOT): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles(root)) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(path.join(root, file)))
      .update('\0');
  }
  return `src-${hash.digest('hex').slice(0, 12)}`;
}

let cached: string | undefined;

/** This process's code version (computed once). */
export function codeVersion(): string {
  const fixed = process.env.GKE_BATCH_CODE_VERSION;
  if (fixed) return fixed;
  return (cached ??= hashSources());
}
