/**
 * `npm run insert`, `npm run params` and `npm run example:params` as real child processes: exit
 * codes, what goes to stdout and stderr, and a fresh checkout where the example table is missing.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { useTempDir, writeTable } from './support/arrow-tables';
import { exampleColumns, FIXTURES } from './support/bad-tables';
import { runWithExampleTask } from './support/cliRun';

/** Runs a project script with tsx, without any task settings inherited from this process, for the example task. */
const run = runWithExampleTask;

describe('insert and params commands (child processes)', function () {
  this.timeout(60_000);
  const tmp = useTempDir('insert-cli-');

  it('npm run insert: exit 0, progress lines on stderr (no terminal), the summary on stdout', async () => {
    const dir = path.join(tmp.dir, 'ok');
    mkdirSync(dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(300));
    const result = await run(
      'cli/insert.ts',
      ['--params', file, '--queue', 'fq://./q', '--cloudpath', 'file://./out'],
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        /^inserted 300 tasks of tasks\.example\.count_primes into fq:\/\/.*\/ok\/q as run r-[\w-]+\n  read/.source +
          / 300 rows, skipped 0 \(work already done\), inserted 300 in [\d.]+ s \([\d,]+ tasks\/s\)\n$/.source,
      ),
    );
    assert.match(
      result.stderr,
      /checking p\.feather \(Arrow IPC file \/ Feather V2\) against task tasks\.example\.count_primes/,
    );
    assert.match(result.stderr, /inserting 300\/300 \(100%\) rows, [\d,]+ rows\/s, ETA 0 s, 0 skipped/);
    assert.equal(readdirSync(path.join(dir, 'q', 'queue')).length, 300);

    // again: this table's run is still queued (no worker ran), so nothing is inserted unless --again
    const refused = await run(
      'cli/insert.ts',
      ['--params', file, '--queue', 'fq://./q', '--cloudpath', 'file://./out'],
      dir,
    );
    assert.equal(refused.code, 0, refused.stderr);
    assert.match(
      refused.stdout,
      /^nothing inserted: this table is already on fq:\/\/.*\n  run r-\d{8}-\d{6}-[0-9a-f]{4}: .* 300 left/,
    );
    assert.equal(readdirSync(path.join(dir, 'q', 'queue')).length, 300);
    const again = await run(
      'cli/insert.ts',
      ['--params', file, '--queue', 'fq://./q', '--cloudpath', 'file://./out', '--json', '--again'],
      dir,
    );
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout) as Record<string, unknown>;
    assert.equal(summary.inserted, 300);
    assert.equal(readdirSync(path.join(dir, 'q', 'queue')).length, 600);
    assert.equal(summary.skipped, 0);
    assert.equal(summary.task, 'tasks.example.count_primes');
  });

  it('npm run insert on a bad table: exit 1, one error on stderr, no queue', async () => {
    const dir = path.join(tmp.dir, 'bad');
    mkdirSync(dir);
    const { start, label } = exampleColumns(3);
    const file = await writeTable(path.join(dir, 'p.feather'), { start: start!, label: label! });
    const result = await run('cli/insert.ts', ['--params', file, '--queue', 'fq://./q'], dir);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      new RegExp(
        /^error: .*p\.feather: the columns do not match the parameters of task/.source +
          / tasks\.example\.count_primes; nothing was inserted\.\n  missing column: "count"\n/.source,
      ),
    );
    assert.doesNotMatch(result.stderr, /at .*\.ts:\d+/, 'no stack trace');
    assert.equal(existsSync(path.join(dir, 'q')), false);
  });

  it('npm run insert on a Feather V1 file says how to re-save it', async () => {
    const dir = path.join(tmp.dir, 'v1');
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, 'old.feather'),
      Buffer.concat([Buffer.from('FEA1'), Buffer.alloc(16), Buffer.from('FEA1')]),
    );
    const result = await run('cli/insert.ts', ['--params', 'old.feather', '--queue', 'fq://./q'], dir);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /error: old\.feather: is a Feather V1 file .*\n  fix: re-save it as Feather V2 with pandas >= 1\.1 \/ pyarrow/,
    );
    assert.equal(existsSync(path.join(dir, 'q')), false);
  });

  it('npm run insert -- --dry-run prints the count and first tasks and leaves the queue alone', async () => {
    const dir = path.join(tmp.dir, 'dry');
    mkdirSync(dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(20));
    const result = await run(
      'cli/insert.ts',
      ['--params', file, '--queue', 'fq://./q', '--cloudpath', 'file://./out', '--dry-run', '--show', '2'],
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        /^dry run: 20 rows checked, 0 skipped by filterTasks, 20 tasks would be inserted into/.source +
          / fq:\/\/.*\/dry\/q \(task tasks\.example\.count_primes\); nothing was inserted\n/.source,
      ),
    );
    assert.match(
      result.stdout,
      new RegExp(
        /first 2 tasks \(keyword arguments\):\n  \{"start":0,"count":10,"label":"row/.source +
          / 0","sleep_ms":0,"cloudpath":"file:\/\/\.\/out"\}\n  \{"start":10,/.source,
      ),
    );
    assert.equal(existsSync(path.join(dir, 'q')), false);
  });

  it('a fresh checkout: insert writes the example table, then inserts it with the shipped settings', async () => {
    const dir = path.join(tmp.dir, 'fresh');
    mkdirSync(dir);
    const result = await run('cli/insert.ts', [], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /created local\/params\.feather: the example table \(1000 rows; npm run example:params writes it again\)/,
    );
    assert.match(
      result.stdout,
      /inserted 1,000 tasks of tasks\.example\.count_primes into fq:\/\/.*\/fresh\/local\/queue/,
    );
    assert.equal(readdirSync(path.join(dir, 'local', 'queue', 'queue')).length, 1000);
  });

  it('npm run params: schema, row count and first rows; --json; a bad file fails', async () => {
    const text = await run('cli/params.ts', [path.join(FIXTURES, 'generated_lz4.arrow_file'), '--rows', '2'], tmp.dir);
    // The table is shown, then checked against the default task, which it does not fit: exit 1.
    assert.equal(text.code, 1, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        /\nchecked against task tasks\.example\.count_primes: npm run insert would refuse this/.source +
          / table:\n.*generated_lz4\.arrow_file: the columns do not match the parameters of task/.source +
          / tasks\.example\.count_primes; nothing was inserted\.\n  missing columns: "start", "count",/.source +
          / "label"\n/.source,
      ),
    );
    assert.match(text.stdout, /generated_lz4\.arrow_file: Arrow IPC file \/ Feather V2, 60 rows, 2 columns/);
    assert.match(text.stdout, /ints +int64 +number \(exact up to ±2\^53 − 1\)\n  strs +string +string/);
    assert.match(
      text.stdout,
      new RegExp(
        /first 2 rows, as the inserter converts them \(numbered from 0, as pandas shows them\):\n  0 /.source +
          / \{"ints":42,"strs":"foo"\}\n  1  \{"ints":43,"strs":"bar"\}/.source,
      ),
    );

    const json = await run(
      'cli/params.ts',
      ['--params', path.join(FIXTURES, 'generated_zstd.stream'), '--json', '--rows', '1', '--no-check'],
      tmp.dir,
    );
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as {
      format: string;
      rows: number;
      columns: Array<{ name: string }>;
      firstRows: Array<{ row: number; values: unknown }>;
    };
    assert.equal(parsed.format, 'Arrow IPC stream');
    assert.equal(parsed.rows, 60);
    assert.deepEqual(
      parsed.columns.map((c) => c.name),
      ['ints', 'strs'],
    );
    assert.deepEqual(parsed.firstRows, [{ row: 0, values: { ints: 42, strs: 'foo' } }]);

    const bad = await run('cli/params.ts', [path.join(tmp.dir, 'nothing-here.feather')], tmp.dir);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: .*nothing-here\.feather: does not exist/);
  });

  it('npm run example:params writes a table the inserter accepts; --help works everywhere', async () => {
    const out = path.join(tmp.dir, 'ex', 'params.feather');
    const made = await run('scripts/make-example-params.ts', ['--rows', '7', '--out', out], tmp.dir);
    assert.equal(made.code, 0, made.stderr);
    const shown = await run('cli/params.ts', [out, '--json', '--rows', '0'], tmp.dir);
    assert.equal((JSON.parse(shown.stdout) as { rows: number }).rows, 7);
    const [insertHelp, paramsHelp] = await Promise.all([
      run('cli/insert.ts', ['--help'], tmp.dir),
      run('cli/params.ts', ['--help'], tmp.dir),
    ]);
    for (const help of [insertHelp, paramsHelp]) {
      assert.equal(help.code, 0);
      assert.match(help.stdout, /^Usage: npm run (insert|params) -- \[options\]/);
    }
    assert.match(paramsHelp.stdout, /--rows <count>/);
    assert.match(insertHelp.stdout, /--dry-run/);
    assert.match(insertHelp.stdout, /--task <module\.name>/);
    assert.match(insertHelp.stdout, /-e, --env-file <file>/);
  });
});
