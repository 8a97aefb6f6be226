/**
 * No source line over 120 characters (prettier's printWidth, .prettierrc.json): prettier wraps
 * code but not long strings, comments or regexes, so this check catches what it leaves.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { skipWithReason } from './support/tools';

const ROOT = path.resolve(__dirname, '..');
const MAX_LINE = 120;
const SOURCE = ['*.ts', '*.tsx', '*.js', '*.cjs', '*.mjs'];
/** Not source: installed packages, build output and local state (test data has no source extension). */
const EXCLUDED = /^(node_modules|dist|local)\//;

/** Tracked source files, and new ones not yet added (git's ignore rules apply). */
function sourceFiles(): string[] | undefined {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...SOURCE], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (git.status !== 0) return undefined;
  const files = git.stdout.split('\0').filter((file) => file !== '' && !EXCLUDED.test(file));
  return [...new Set(files)].filter((file) => existsSync(path.join(ROOT, file))).sort();
}

/** `file:line (N characters)` for every line over the limit. */
export function longLines(file: string, text: string, max = MAX_LINE): string[] {
  return text
    .split(/\r?\n/)
    .flatMap((line, i) => (line.length > max ? [`${file}:${i + 1} (${line.length} characters)`] : []));
}

describe('line length', () => {
  it(`no line of a tracked source file is over ${MAX_LINE} characters`, function () {
    const files = sourceFiles();
    if (!files) skipWithReason(this, 'not a git checkout: git ls-files cannot list the source files');
    assert.ok(files.length > 100, `git ls-files listed only ${files.length} source files`);
    const long = files.flatMap((file) => longLines(file, readFileSync(path.join(ROOT, file), 'utf8')));
    assert.deepEqual(
      long,
      [],
      `lines over ${MAX_LINE} characters (split the string, comment or regex):\n${long.join('\n')}`,
    );
  });

  it('names file and line of a long line', () => {
    const text = ['short', 'x'.repeat(MAX_LINE), 'y'.repeat(MAX_LINE + 1)].join('\n');
    assert.deepEqual(longLines('a.ts', text), [`a.ts:3 (${MAX_LINE + 1} characters)`]);
  });
});
