/**
 * The insert pipeline on real files and a real file queue: what lands on the queue, the skip
 * filter, dry runs, and every bad input rejected with its message before a single task is inserted.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Int64, Utf8, vectorFromArray } from 'apache-arrow';
import { z } from 'zod';
import { loadSettings, TaskSettings } from '../lib/settings';
import { findTask, insertTable } from '../lib/insert';
import { openQueue } from '../lib/queue';
import { decodeTask } from '../lib/queue/message';
import { defineTask } from '../lib/task';
import { primesLike, useTempDir, writeTable } from './support/arrow-tables';
import { BAD_TABLES, exampleColumns } from './support/bad-tables';

function settingsFor(dir: string, params: string, extra: { cloudpath?: string } = {}): TaskSettings {
  return loadSettings({
    env: {},
    shippedEnvFile: path.join(dir, 'no-such.env'),
    overrides: {
      TASKQUEUE_PATH: `fq://${path.join(dir, 'queue')}`,
      TASK_PARAMETER_FILENAME: params,
      CF_CLOUDPATH: extra.cloudpath ?? `file://${path.join(dir, 'out')}`,
    },
  });
}

/** Every message body on a file queue, decoded. */
function queuedKwargs(dir: string): Array<Record<string, unknown>> {
  const folder = path.join(dir, 'queue', 'queue');
  return readdirSync(folder).map((name) => decodeTask(readFileSync(path.join(folder, name), 'utf8')).kwargs);
}

let case_ = 0;
/** A fresh sub-folder per test, so queues never mix. */
function freshDir(root: string): string {
  const dir = path.join(root, `case-${++case_}`);
  mkdirSync(dir);
  return dir;
}

describe('insert: pipeline', () => {
  const tmp = useTempDir('insert-');

  it('inserts one task per row, in several batches, with cloudpath added from CF_CLOUDPATH', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(2500), { batchRows: 1000 });
    const summary = await insertTable({
      settings: settingsFor(dir, file),
      task: primesLike,
      progress: false,
      chunkRows: 400,
    });
    assert.equal(summary.read, 2500);
    assert.equal(summary.skipped, 0);
    assert.equal(summary.inserted, 2500);
    assert.equal(summary.task, 'tests.params.primes_like');
    assert.equal(summary.queue, `fq://${path.join(dir, 'queue')}`);
    const kwargs = queuedKwargs(dir).sort((a, b) => (a.start as number) - (b.start as number));
    assert.equal(kwargs.length, 2500);
    assert.deepEqual(kwargs[1234], {
      start: 12340,
      count: 10,
      label: 'row 1234',
      sleep_ms: 0,
      cloudpath: `file://${path.join(dir, 'out')}`,
    });
    const counts = await (await openQueue(`fq://${path.join(dir, 'queue')}`)).counts();
    assert.equal(counts.inserted, 2500);
  });

  it('skips rows whose output exists (filterTasks) and reports how many', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(30));
    const done = path.join(dir, 'out', 'done');
    mkdirSync(done, { recursive: true });
    for (const start of [0, 50, 290]) writeFileSync(path.join(done, `${start}.json`), '{}');
    const summary = await insertTable({
      settings: settingsFor(dir, file),
      task: primesLike,
      progress: false,
      chunkRows: 7,
    });
    assert.deepEqual([summary.read, summary.skipped, summary.inserted], [30, 3, 27]);
    const starts = queuedKwargs(dir).map((k) => k.start as number);
    assert.equal(starts.length, 27);
    for (const skipped of [0, 50, 290]) assert.ok(!starts.includes(skipped), `row with start ${skipped} was skipped`);
  });

  it('a table whose every row is done inserts nothing and says so', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(4));
    mkdirSync(path.join(dir, 'out', 'done'), { recursive: true });
    for (let i = 0; i < 4; i++) writeFileSync(path.join(dir, 'out', 'done', `${i * 10}.json`), '{}');
    const summary = await insertTable({ settings: settingsFor(dir, file), task: primesLike, progress: false });
    assert.deepEqual([summary.read, summary.skipped, summary.inserted], [4, 4, 0]);
    const queued = existsSync(path.join(dir, 'queue', 'queue')) ? readdirSync(path.join(dir, 'queue', 'queue')) : [];
    assert.deepEqual(queued, []);
  });

  it('an empty table inserts nothing, successfully', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(0));
    const summary = await insertTable({ settings: settingsFor(dir, file), task: primesLike, progress: false });
    assert.deepEqual([summary.read, summary.skipped, summary.inserted], [0, 0, 0]);
  });

  it('a cloudpath column gives each row its own output location, and the filter looks there', async () => {
    const dir = freshDir(tmp.dir);
    const [a, b] = [path.join(dir, 'a'), path.join(dir, 'b')];
    const file = await writeTable(
      path.join(dir, 'p.feather'),
      exampleColumns(4, {
        cloudpath: vectorFromArray([`file://${a}`, `file://${b}`, `file://${a}`, `file://${b}`], new Utf8()),
      }),
    );
    mkdirSync(path.join(b, 'done'), { recursive: true });
    writeFileSync(path.join(b, 'done', '10.json'), '{}'); // row 1's output, under its own cloudpath
    writeFileSync(path.join(b, 'done', '0.json'), '{}'); // row 0 writes under a, so this does not count
    const summary = await insertTable({ settings: settingsFor(dir, file), task: primesLike, progress: false });
    assert.deepEqual([summary.skipped, summary.inserted], [1, 3]);
    const byStart = new Map(queuedKwargs(dir).map((k) => [k.start, k.cloudpath]));
    assert.deepEqual([...byStart.entries()].sort(), [
      [0, `file://${a}`],
      [20, `file://${a}`],
      [30, `file://${b}`],
    ]);
  });

  it('a CSV table is typed by the task schema; optional columns may be left out', async () => {
    const dir = freshDir(tmp.dir);
    const file = path.join(dir, 'hand.csv');
    writeFileSync(file, '\ufeffstart,count,label\n0,5,"first, quoted"\n10,5,second\n');
    const summary = await insertTable({ settings: settingsFor(dir, file), task: primesLike, progress: false });
    assert.equal(summary.inserted, 2);
    const kwargs = queuedKwargs(dir).find((k) => k.start === 0);
    assert.deepEqual(kwargs, {
      start: 0,
      count: 5,
      label: 'first, quoted',
      cloudpath: `file://${path.join(dir, 'out')}`,
    });
  });

  it('null in an optional column leaves the key out, so the default applies in the worker', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(
      path.join(dir, 'p.feather'),
      exampleColumns(2, { sleep_ms: vectorFromArray([null, 7n], new Int64()) }),
    );
    await insertTable({ settings: settingsFor(dir, file), task: primesLike, progress: false });
    const bySleep = queuedKwargs(dir)
      .map((k) => ('sleep_ms' in k ? k.sleep_ms : 'absent'))
      .sort();
    assert.deepEqual(bySleep, [7, 'absent']);
  });

  it('--dry-run checks and filters, returns the first tasks, and never creates the queue', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(10));
    mkdirSync(path.join(dir, 'out', 'done'), { recursive: true });
    writeFileSync(path.join(dir, 'out', 'done', '0.json'), '{}');
    const summary = await insertTable({
      settings: settingsFor(dir, file),
      task: primesLike,
      progress: false,
      dryRun: true,
      showTasks: 2,
    });
    assert.deepEqual([summary.dryRun, summary.read, summary.skipped, summary.inserted], [true, 10, 1, 9]);
    assert.deepEqual(
      summary.firstTasks?.map((k) => k.start),
      [10, 20],
    );
    assert.equal(existsSync(path.join(dir, 'queue')), false);
  });

  it('a filterTasks that returns new objects instead of a subset of its rows is an error', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(3));
    const copying = defineTask({ ...primesLike, filterTasks: async (rows) => rows.map((row) => ({ ...row })) });
    await assert.rejects(
      insertTable({ settings: settingsFor(dir, file), task: copying, progress: false }),
      /must return a subset of its `rows` argument/,
    );
  });

  it('failing halfway stops with how many tasks were inserted and what re-running does', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(path.join(dir, 'p.feather'), exampleColumns(5000));
    let chunks = 0;
    // On the third chunk the queue's journal folder turns into a file: every later write fails.
    const sabotage = defineTask({
      ...primesLike,
      filterTasks: async (rows) => {
        if (++chunks === 3) {
          const movement = path.join(dir, 'queue', 'movement');
          rmSync(movement, { recursive: true });
          writeFileSync(movement, 'not a folder');
        }
        return rows;
      },
    });
    const error = await insertTable({
      settings: settingsFor(dir, file),
      task: sabotage,
      progress: false,
      chunkRows: 1000,
    }).then(
      () => assert.fail('insert succeeded'),
      (e: Error) => e,
    );
    const queued = readdirSync(path.join(dir, 'queue', 'queue')).length;
    assert.equal(queued, 2000, 'the first two chunks were inserted before the failure');
    assert.match(error.message, /^inserting stopped after 2,000 of 5,000 rows were handled: /);
    assert.match(error.message, /2,000 tasks are on fq:\/\/.* from the start of the table/);
    assert.match(error.message, /tasks already queued but not yet finished would then be queued twice/);
    assert.match(error.message, /npm run purge/);
  });

  it('a pandas index left in the table is named as such, with the fix', async () => {
    const dir = freshDir(tmp.dir);
    const file = await writeTable(
      path.join(dir, 'p.feather'),
      exampleColumns(2, { __index_level_0__: vectorFromArray([5n, 6n], new Int64()) }),
    );
    await assert.rejects(
      insertTable({ settings: settingsFor(dir, file), task: primesLike, progress: false }),
      new RegExp(
        /unexpected column: "__index_level_0__"[^]*a pandas index: write the table after df =/.source +
          / df\.reset_index\(drop=True\)/.source,
      ),
    );
  });

  it('--task picks a task by module.name and names the choices when unknown', () => {
    assert.equal(findTask('tests.params.primes_like', [primesLike]), primesLike);
    assert.equal(findTask(undefined, [primesLike]), primesLike);
    assert.throws(
      () => findTask('tasks.nope', [primesLike]),
      /no task "tasks\.nope" in tasks\/index\.ts; the tasks are: tests\.params\.primes_like/,
    );
  });

  describe('bad inputs: one clear message, nothing inserted', () => {
    for (const bad of BAD_TABLES) {
      it(bad.name, async () => {
        const dir = freshDir(tmp.dir);
        const file = await bad.make(dir);
        const error = await insertTable({
          settings: settingsFor(dir, file),
          task: bad.task ?? primesLike,
          progress: false,
        }).then(
          () => assert.fail(`${bad.name}: insert succeeded`),
          (e: Error) => e,
        );
        for (const pattern of bad.expected) assert.match(error.message, pattern);
        assert.equal(existsSync(path.join(dir, 'queue')), false, 'the queue was never created');
      });
    }

    it('unreadable file (permission denied)', async function () {
      const dir = freshDir(tmp.dir);
      const file = await writeTable(path.join(dir, 'secret.feather'), exampleColumns(2));
      chmodSync(file, 0o000);
      chmodSync(dir, 0o755);
      chmodSync(tmp.dir, 0o755);
      // root reads any file; read as `nobody` for the duration of the call (effective uid only)
      const asRoot = process.getuid?.() === 0;
      if (asRoot) process.seteuid!(65534);
      let error: Error;
      try {
        error = await insertTable({ settings: settingsFor(dir, file), task: primesLike, progress: false }).then(
          () => assert.fail('read an unreadable file'),
          (e: Error) => e,
        );
      } finally {
        if (asRoot) process.seteuid!(0);
      }
      assert.match(error.message, /secret\.feather: cannot be read: permission denied \(EACCES\)/);
      assert.match(error.message, /chmod a\+r/);
      assert.equal(existsSync(path.join(dir, 'queue')), false);
    });

    it('there are at least 15 kinds', () => {
      assert.ok(BAD_TABLES.length + 1 >= 15);
    });
  });

  describe('a task with a strict schema', () => {
    it('still receives cloudpath only in the message, not in what its schema parses', async () => {
      const dir = freshDir(tmp.dir);
      const strict = defineTask({
        key: ['tests.params', 'strict'],
        params: z.strictObject({ start: z.number() }),
        run: () => undefined,
      });
      const file = await writeTable(path.join(dir, 'p.feather'), { start: vectorFromArray([1n, 2n], new Int64()) });
      const summary = await insertTable({ settings: settingsFor(dir, file), task: strict, progress: false });
      assert.equal(summary.inserted, 2);
      assert.ok(queuedKwargs(dir).every((k) => typeof k.cloudpath === 'string'));
    });
  });
});
