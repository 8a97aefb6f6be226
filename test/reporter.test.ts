/**
 * The reporter's honest summary: skipped tests are listed with their reasons, and under CI a skip
 * fails the run (exit code non-zero), while locally it does not. Runs mocha in a child process on
 * small spec files, with and without --exit (mocha sets the exit code differently in each).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const MOCHA = path.join(ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js');
const REPORTER = path.join(ROOT, 'test', 'support', 'reporter.js');
const TOOLS = path.join(ROOT, 'test', 'support', 'tools');

const SKIPPING_SPEC = `
import { skipWithReason } from ${JSON.stringify(TOOLS)};
describe('a suite with a missing server', function () {
  before(function () { skipWithReason(this, 'the widget server is not installed'); });
  it('talks to the server', () => {});
});
describe('others', () => {
  it('passes', () => {});
  it('skips itself without a reason', function () { this.skip(); });
});
`;
const PASSING_SPEC = `describe('fine', () => { it('passes', () => {}); });\n`;

interface Run {
  readonly code: number;
  readonly stdout: string;
}

function runMocha(spec: string, env: Record<string, string | undefined>, extra: string[] = []): Promise<Run> {
  const childEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  const args = [MOCHA, '--no-config', '-r', 'tsx/cjs', '--extension', 'ts', '--reporter', REPORTER, ...extra, spec];
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: ROOT, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') return reject(new Error(`${error.message}\n${stderr}`));
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout });
    }),
  );
}

describe('test reporter: skipped tests', function () {
  this.timeout(60_000);
  let dir: string;
  let skipping: string;
  let passing: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gke-batch-reporter-'));
    skipping = path.join(dir, 'skipping.spec.ts');
    passing = path.join(dir, 'passing.spec.ts');
    writeFileSync(skipping, SKIPPING_SPEC);
    writeFileSync(passing, PASSING_SPEC);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const extra of [[], ['--exit']]) {
    const mode = extra.length ? 'with --exit' : 'without --exit';
    it(`under CI=true a skip fails the run and each skipped test is listed with its reason (${mode})`, async () => {
      const run = await runMocha(skipping, { CI: 'true' }, extra);
      assert.notEqual(run.code, 0, run.stdout);
      assert.match(run.stdout, /Skipped under CI, which must run every suite:/);
      assert.match(
        run.stdout,
        /- a suite with a missing server talks to the server: the widget server is not installed\n/,
      );
      assert.match(run.stdout, /- others skips itself without a reason: no reason given\n/);
      assert.match(run.stdout, /\n1 passed, 0 failed, 2 skipped\n/);
    });
  }

  it('locally (CI unset or false) a skip is listed but the run passes', async () => {
    for (const ci of [undefined, 'false']) {
      const run = await runMocha(skipping, { CI: ci });
      assert.equal(run.code, 0, `CI=${ci}: ${run.stdout}`);
      assert.match(run.stdout, /\nSkipped:\n {2}- a suite with a missing server talks to the server: the widget/);
      assert.match(run.stdout, /\n1 passed, 0 failed, 2 skipped\n/);
    }
  });

  it('under CI=true a run without skips passes and prints no skip list', async () => {
    const run = await runMocha(passing, { CI: 'true' });
    assert.equal(run.code, 0, run.stdout);
    assert.doesNotMatch(run.stdout, /Skipped/);
    assert.match(run.stdout, /\n1 passed, 0 failed\n/);
  });
});
