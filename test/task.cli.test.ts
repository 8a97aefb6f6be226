/**
 * `npm run task` (one row in this process, real storage, no queue) and `npm run params` checking
 * a table against the task, as real child processes.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { useTempDir } from './support/arrow-tables';
import { runScript } from './support/cliRun';
import { FIXTURE_TASKS } from './support/workerProcess';

describe('npm run task and npm run params --task (child processes)', function () {
  this.timeout(120_000);
  const tmp = useTempDir('task-cli-');
  const flaky = ['--tasks', FIXTURE_TASKS, '--task', 'fixtures.flaky', '--cloudpath', 'file://./out'];

  it('runs one row with the real storage and no queue; a failing row prints its stack and exits 1', async () => {
    writeFileSync(path.join(tmp.dir, 't.csv'), 'i,fail\n0,false\n1,true\n2,false\n');
    const ok = await runScript('cli/task.ts', [...flaky, '--params', 't.csv', '--row', '2'], tmp.dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /^task fixtures\.flaky succeeded on row 2 of t\.csv in \d+ ms \(outputs: file:\/\/\.\/out\)\n$/,
    );
    assert.deepEqual(JSON.parse(readFileSync(path.join(tmp.dir, 'out', 'flaky', '2.json'), 'utf8')), { attempt: 1 });
    assert.equal(existsSync(path.join(tmp.dir, 'q')), false, 'no queue was made');

    const failed = await runScript('cli/task.ts', [...flaky, '--params', 't.csv', '--row', '1'], tmp.dir);
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      /task fixtures\.flaky failed on row 1 of t\.csv after \d+ ms:\nError: row 1 failed on purpose\n +at /,
    );

    const json = await runScript('cli/task.ts', [...flaky, '--params-json', '{"i": 9, "fail": false}'], tmp.dir);
    assert.equal(json.code, 0, json.stderr);
    assert.ok(existsSync(path.join(tmp.dir, 'out', 'flaky', '9.json')));

    const past = await runScript('cli/task.ts', [...flaky, '--params', 't.csv', '--row', '3'], tmp.dir);
    assert.equal(past.code, 1);
    assert.match(past.stderr, /^error: --row 3: t\.csv has 3 rows \(numbered 0 to 2\)/);
    const wrong = await runScript('cli/task.ts', [...flaky, '--params-json', '{"i": "x"}'], tmp.dir);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /does not fit the parameters of task fixtures\.flaky:\n  i: .*\n  fail: /);
  });

  it('params checks the table against the chosen task and shows what insert would refuse', async () => {
    writeFileSync(path.join(tmp.dir, 'bad.csv'), 'i,fail\n0,false\n1.5,true\n-2.5,false\n');
    const bad = await runScript(
      'cli/params.ts',
      ['bad.csv', '--tasks', FIXTURE_TASKS, '--task', 'fixtures.flaky'],
      tmp.dir,
    );
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stdout, /bad\.csv: CSV, 3 rows, 2 columns/);
    assert.match(
      bad.stdout,
      new RegExp(
        /checked against task fixtures\.flaky: npm run insert would refuse this table:\n.*bad\.csv: 2 of 3/.source +
          / rows fail the checks of task fixtures\.flaky/.source,
      ),
    );
    assert.match(bad.stdout, /^ +row 1 \(line 3\): 1\.5: .*expected int/m);
    assert.match(bad.stdout, /^ +row 2 \(line 4\): -2\.5: .*expected int/m);
    const json = await runScript(
      'cli/params.ts',
      ['bad.csv', '--tasks', FIXTURE_TASKS, '--task', 'fixtures.flaky', '--json'],
      tmp.dir,
    );
    assert.equal(json.code, 1);
    const check = JSON.parse(json.stdout).check;
    assert.deepEqual([check.task, check.ok, check.rows], ['fixtures.flaky', false, 3]);

    writeFileSync(path.join(tmp.dir, 'good.csv'), 'i,fail\n0,false\n1,true\n');
    const good = await runScript(
      'cli/params.ts',
      ['good.csv', '--tasks', FIXTURE_TASKS, '--task', 'fixtures.flaky'],
      tmp.dir,
    );
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /checked against task fixtures\.flaky: all 2 rows pass\n$/);
  });
});
