/**
 * A copy of the project as a fresh clone has it (the files git tracks, with this checkout's edits),
 * sharing this checkout's installed node_modules, for tests that run the project's commands as a
 * user would in a checkout of their own.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** tasks/index.ts as shipped: the example task only. */
export const SHIPPED_TASK_LIST = [
  "import type { AnyTaskDefinition } from '../lib/task';",
  "import { countPrimes } from './example';",
  '',
  'export const tasks: readonly AnyTaskDefinition[] = [countPrimes];',
  '',
].join('\n');

export interface ProjectCopyOptions {
  /** The text of tasks/index.ts in the copy (default: as shipped, whatever this checkout lists). */
  readonly taskList?: string;
  /** Extra files to write, by path relative to the copy. */
  readonly files?: Readonly<Record<string, string>>;
  /** Make the copy a git work tree with every file added (for tests that list tracked files). */
  readonly git?: boolean;
}

export function copyProject(options: ProjectCopyOptions = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'fresh-clone-'));
  const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0');
  for (const file of tracked.filter(Boolean)) {
    const from = path.join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(from, path.join(dir, file));
  }
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  writeFileSync(path.join(dir, 'tasks', 'index.ts'), options.taskList ?? SHIPPED_TASK_LIST);
  for (const [file, text] of Object.entries(options.files ?? {})) writeFileSync(path.join(dir, file), text);
  if (options.git) {
    execFileSync('git', ['init', '-q'], { cwd: dir });
    execFileSync('git', ['add', '-A'], { cwd: dir });
  }
  return dir;
}
