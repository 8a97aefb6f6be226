/**
 * Issue 20's broken inputs through the real commands (`queue:create`, `insert`, `params`, `status`,
 * `failures` and the worker as child processes), beside the unit tests of each part: queue paths
 * that cannot work end at once with their reason, entries in `queue/` that are no task files are
 * dead-lettered once and never retried, a task file's bytes that are not UTF-8 never reach a task,
 * ids holding `--` are seen everywhere, CSV delimiters and big integers are read exactly, and
 * settings typos are named with their line and a suggestion.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeTask } from '../lib/queue/message';
import { runWithExampleTask } from './support/cliRun';
import { executions, FIXTURE_TASKS, startWorker } from './support/workerProcess';

const NO_STACK = /\n\s+at .*:\d+:\d+/;

describe('broken input through the real commands', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'broken-commands-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const csv = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  it('queue:create and insert on fq:///proc/... end at once, saying why and that nothing was inserted', async () => {
    const table = csv('p.csv', 'start,count,label\n0,10,a\n');
    const started = Date.now();
    const [create, insert] = await Promise.all([
      runWithExampleTask('cli/queue-create.ts', ['--queue', 'fq:///proc/gke-batch-x/q'], dir),
      runWithExampleTask('cli/insert.ts', ['--params', table, '--queue', 'fq:///proc/gke-batch-x/q'], dir),
    ]);
    assert.ok(Date.now() - started < 60_000, 'bounded time');
    for (const run of [create, insert]) {
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /cannot create the directory \/proc\/gke-batch-x: .*\/proc.*refuses new entries/);
      assert.match(run.stderr, /fix: put the queue on a real, writable file system/);
      assert.doesNotMatch(run.stderr, NO_STACK);
    }
    assert.match(insert.stderr, /^error: nothing was inserted: /m);
    assert.doesNotMatch(insert.stderr, /npm run purge|stopped after/, 'no purge advice when nothing was inserted');
  });

  it('a worker on a queue path that is a regular file exits 2 at once, naming it', async () => {
    const file = path.join(dir, 'hostname');
    fs.writeFileSync(file, 'not a queue\n');
    const run = await runWithExampleTask(
      'worker/main.ts',
      ['--queue', `fq://${file}`, '--cloudpath', `file://${dir}/out`, '--exit-when-empty'],
      dir,
    );
    assert.equal(run.code, 2, run.stderr + run.stdout);
    assert.match(run.stderr, new RegExp(`ENOTDIR on ${file}: the queue path must be a directory`));
    assert.match(run.stderr, /fix: point TASKQUEUE_PATH \/ --queue at a directory/);
  });

  it('no task files, bytes that are not UTF-8, ids with --: dead-lettered once, or run', async () => {
    const root = path.join(dir, 'q');
    const url = `fq://${root}`;
    const created = await runWithExampleTask('cli/queue-create.ts', ['--queue', url], dir);
    assert.equal(created.code, 0, created.stderr);
    const queueDir = path.join(root, 'queue');
    /** Each entry with its journal in movement/, as an insert leaves it (so it is leasable at once). */
    const entry = (id: string, make: (file: string) => void) => {
      make(path.join(queueDir, `0--${id}.json`));
      fs.writeFileSync(path.join(root, 'movement', id), `0--${id}.json\n`);
    };
    const body = (kwargs: Record<string, unknown>, id: string) =>
      encodeTask(['fixtures', 'sleep'], kwargs, url, id).body;
    entry('a-directory', (file) => fs.mkdirSync(file));
    entry('dangling', (file) => fs.symlinkSync(path.join(dir, 'nowhere.json'), file));
    entry('made--by-hand', (file) => fs.writeFileSync(file, body({ dir, name: 'dashes', ms: 0 }, 'made--by-hand')));
    entry('bad--params', (file) => fs.writeFileSync(file, body({ dir, name: 'bad', ms: -1 }, 'bad--params')));
    // Our bodies are ASCII (é is written \u00e9, as Python does); this one holds é as Latin-1's byte 0xe9.
    const latin1 = Buffer.from(
      body({ dir, name: 'caf\u00e9', ms: 0 }, 'not-utf8').replace('\\u00e9', '\u00e9'),
      'latin1',
    );
    entry('not-utf8', (file) => fs.writeFileSync(file, latin1));

    const before = JSON.parse((await runWithExampleTask('cli/status.ts', ['--queue', url, '--json'], dir)).stdout);
    assert.equal(before.enqueued, 5, 'every entry is seen, the ids with -- too');

    const flags = ['--queue', url, '--cloudpath', `file://${path.join(dir, 'out')}`, '--tasks', FIXTURE_TASKS];
    const worker = await startWorker([...flags, '--exit-when-empty', '--lease', '5']);
    const exit = await worker.waitForExit(90_000);
    assert.equal(exit.code, 0, `ends by itself, retrying nothing forever\n${worker.describe()}`);
    assert.deepEqual(
      executions(dir, 'dashes', 'done').map((e) => e.attempt),
      [1],
      'the task whose id holds -- ran once',
    );
    assert.equal(worker.logs.filter((l) => l.message === 'task started').length, 1, worker.describe());
    assert.deepEqual(
      fs.readdirSync(dir).filter((name) => name.startsWith('caf')),
      [],
      'the non-UTF-8 task never ran (it would have written caf\ufffd.start)',
    );

    const after = JSON.parse((await runWithExampleTask('cli/status.ts', ['--queue', url, '--json'], dir)).stdout);
    assert.deepEqual([after.enqueued, after.leased, after.completed, after.failed], [0, 0, 1, 4]);
    const listed = JSON.parse(
      (await runWithExampleTask('cli/failures.ts', ['--queue', url, '--json'], dir)).stdout,
    ) as {
      failures: Array<{ id: string; reason: string; message: string; attempts: number }>;
    };
    const byId = Object.fromEntries(listed.failures.map((f) => [f.id, f]));
    assert.deepEqual(Object.keys(byId).sort(), ['a-directory', 'bad--params', 'dangling', 'not-utf8']);
    assert.match(byId['a-directory']!.message, /was a directory, not a task file: moved to broken\//);
    assert.match(byId.dangling!.message, /was a dangling symbolic link, not a task file/);
    assert.match(byId['not-utf8']!.message, /was not UTF-8 text \(byte 0xe9 at offset \d+\), not a task file/);
    for (const id of ['a-directory', 'dangling', 'not-utf8']) assert.equal(byId[id]!.reason, 'BrokenEntry');
    assert.equal(byId['bad--params']!.reason, 'InvalidParams');
    assert.equal(byId['bad--params']!.attempts, 1, 'dead-lettered at its first attempt, not retried');
    const table = await runWithExampleTask('cli/failures.ts', ['--queue', url, '--list'], dir);
    assert.match(table.stdout, /^bad--params +fixtures\.sleep +1 .*InvalidParams: .*→ at ms$/m);
  });

  it('a gzip Parquet page with a changed header byte is refused at once, not decoded for minutes', async () => {
    // Found by `npm run bench -- fuzz --runs 3000 --seed 99`: the pure-JS inflater ignored the gzip
    // header and checksum, and hyparquet then looped over a run length of billions.
    const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'pandas', 'small_gzip.parquet'));
    bytes[2957]! ^= 1 << 6;
    const file = path.join(dir, 'damaged.parquet');
    fs.writeFileSync(file, bytes);
    const started = Date.now();
    const run = await runWithExampleTask('cli/params.ts', [file], dir);
    assert.ok(Date.now() - started < 30_000, `${Date.now() - started} ms`);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /damaged\.parquet: cannot be decoded as Parquet: /);
    assert.doesNotMatch(run.stderr, NO_STACK);
  });

  it('CSV: the delimiter is detected; an integer above 2^53 is refused with its exact digits', async () => {
    const semi = csv('semi.csv', 'start;count;label\n0;10;a\n10;20;b\n');
    const params = await runWithExampleTask('cli/params.ts', [semi, '--json'], dir);
    assert.equal(params.code, 0, params.stderr);
    const view = JSON.parse(params.stdout) as { columns: Array<{ name: string }>; rows?: unknown[] };
    assert.deepEqual(
      view.columns.map((c) => c.name),
      ['start', 'count', 'label'],
    );
    const human = await runWithExampleTask('cli/params.ts', [semi], dir);
    assert.match(human.stdout, /semi\.csv: CSV \(semicolon-separated\), 2 rows, 3 columns$/m);

    const big = csv('big.csv', 'start,count,label\n0,9007199254740993,a\n');
    const insert = await runWithExampleTask('cli/insert.ts', ['--params', big, '--queue', 'fq://./q'], dir);
    assert.equal(insert.code, 1, insert.stderr);
    assert.match(insert.stderr, /nothing was inserted/);
    assert.match(insert.stderr, /row 0 \(line 2\): 9007199254740993 does not fit a JSON number exactly/);
    assert.equal(fs.existsSync(path.join(dir, 'q')), false, 'no queue made');
  });

  it('settings: a garbage line is named with its line, a misspelt name with a suggestion', async () => {
    const garbage = csv('bad.env', 'TQ_LEASE_SECONDS=30\nthis is garbage\n');
    const refused = await runWithExampleTask('cli/status.ts', ['-e', garbage, '--queue', 'fq://./q'], dir);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /env file .*bad\.env line 2 is not a setting: "this is garbage"; write NAME=VALUE/);

    const typo = csv('typo.env', 'TQ_LEASE_SECOND=30\n');
    const created = await runWithExampleTask('cli/queue-create.ts', ['--queue', 'fq://./q'], dir);
    assert.equal(created.code, 0, created.stderr);
    const warned = await runWithExampleTask('cli/status.ts', ['-e', typo, '--queue', 'fq://./q', '--json'], dir);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(
      warned.stderr,
      new RegExp(
        'warning: env file .*typo\\.env line 1: TQ_LEASE_SECOND is not a setting and is ignored; ' +
          'did you mean TQ_LEASE_SECONDS\\?',
      ),
    );
    const fromEnv = await runScriptWithEnv('cli/status.ts', ['--queue', 'fq://./q', '--json'], dir, {
      TQ_LEASE_SECOND: '30',
    });
    assert.match(
      fromEnv.stderr,
      /warning: the environment: TQ_LEASE_SECOND is not a setting and is ignored; did you mean TQ_LEASE_SECONDS\?/,
    );
  });
});

/** runScript with extra environment variables (runScript itself clears the task settings). */
async function runScriptWithEnv(script: string, args: string[], cwd: string, env: Record<string, string>) {
  const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    return await runWithExampleTask(script, args, cwd);
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}
