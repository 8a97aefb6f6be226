/**
 * Runs through the real commands (insert, worker, status) on the file queue, SQS (fauxqs) and
 * Pub/Sub (pstest): every insert records a run, workers count each run's outcomes exactly,
 * status shows them per run, and inserting a table whose run is still queued does nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { useTempDir } from './support/arrow-tables';
import { runScript, type ScriptRun } from './support/cliRun';
import { useFauxqs } from './support/fauxqs';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';
import { FIXTURE_TASKS } from './support/workerProcess';

const ROWS = 10;
const FAILING = new Set([3, 7]);

interface Backend {
  readonly name: string;
  /** Creates a fresh queue; resolves with its URL. */
  readonly create: (dir: string) => Promise<string>;
  readonly env: () => Record<string, string>;
}

function expectOk(result: ScriptRun, what: string): ScriptRun {
  assert.equal(result.code, 0, `${what}: ${result.stderr}\n${result.stdout}`);
  return result;
}

/** The scenario every backend must pass. */
function runsScenario(backend: Backend, tmp: { readonly dir: string }): void {
  it(`${backend.name}: insert records a run, workers count it exactly, re-inserting the same table does nothing`, async function () {
    this.timeout(120_000);
    const dir = path.join(tmp.dir, backend.name);
    mkdirSync(dir, { recursive: true });
    const csv = ['i,fail', ...Array.from({ length: ROWS }, (_, i) => `${i},${FAILING.has(i)}`)].join('\n');
    writeFileSync(path.join(dir, 't.csv'), `${csv}\n`);
    const queue = await backend.create(dir);
    const common = ['--queue', queue, '--cloudpath', 'file://./out', '--params', 't.csv'];
    const insertArgs = [...common, '--tasks', FIXTURE_TASKS, '--task', 'fixtures.flaky'];
    const run = (script: string, args: string[]) => runScript(script, args, dir, backend.env());

    const first = JSON.parse(expectOk(await run('cli/insert.ts', [...insertArgs, '--json']), 'insert').stdout);
    assert.equal(first.inserted, ROWS);
    assert.match(first.run.id, /^r-\d{8}-\d{6}-[0-9a-f]{4}$/);
    assert.equal(first.run.task, 'fixtures.flaky');
    assert.equal(first.run.table.rows, ROWS);
    assert.match(first.run.table.sha256, /^[0-9a-f]{64}$/);
    assert.match(first.run.codeVersion, /^src-[0-9a-f]{12}$/);

    // The same table again while its run is queued: nothing is inserted, and it says which run.
    const again = expectOk(await run('cli/insert.ts', insertArgs), 'insert again');
    assert.match(again.stdout, new RegExp(`^nothing inserted: this table is already on .*\\n  run ${first.run.id}: `));
    assert.match(again.stdout, /0 done, 0 failed, 10 left/);

    // A smoke test of the first 4 rows is another run; the queue's contents are named first.
    const smoke = expectOk(await run('cli/insert.ts', [...insertArgs, '--limit', '4', '--json']), 'insert --limit');
    const second = JSON.parse(smoke.stdout);
    assert.equal(second.inserted, 4);
    assert.notEqual(second.run.id, first.run.id);
    assert.match(
      smoke.stderr,
      new RegExp(`note: .* already holds.*\\n  run ${first.run.id}: fixtures\\.flaky from .*t\\.csv`),
    );

    const worker = await run('worker/main.ts', [
      ...common,
      '--tasks',
      FIXTURE_TASKS,
      '--exit-when-empty',
      '--max-attempts',
      '2',
      '--max-retry-delay',
      '1',
      '--log-format',
      'json',
    ]);
    expectOk(worker, 'worker');

    const status = JSON.parse(expectOk(await run('cli/status.ts', [...common, '--json']), 'status').stdout);
    const byId = new Map(status.runs.runs.map((r: { id: string }) => [r.id, r]));
    assert.deepEqual(pick(byId.get(first.run.id)), {
      inserted: 10,
      done: 8,
      failed: 2,
      retrying: 0,
      inFlight: 0,
      left: 0,
      finished: true,
    });
    // Rows 0-3: row 3 fails.
    assert.deepEqual(pick(byId.get(second.run.id)), {
      inserted: 4,
      done: 3,
      failed: 1,
      retrying: 0,
      inFlight: 0,
      left: 0,
      finished: true,
    });
    assert.equal(status.runs.noRun, null);
    assert.deepEqual(status.runs.workers, [], 'the worker stopped: not among those seen recently');

    const text = expectOk(await run('cli/status.ts', common), 'status (text)').stdout;
    assert.match(text, new RegExp(`${first.run.id}  fixtures\\.flaky\\s+t\\.csv\\s+8\\s+2\\s+0\\s+0\\s+0 .*finished`));
    assert.match(
      text,
      new RegExp(`${second.run.id}  fixtures\\.flaky\\s+t\\.csv \\(first 4\\)\\s+3\\s+1\\s+0\\s+0\\s+0`),
    );

    // Finished runs are no obstacle: the same table goes in again as a new run.
    const third = JSON.parse(expectOk(await run('cli/insert.ts', [...insertArgs, '--json']), 'insert after').stdout);
    assert.equal(third.inserted, ROWS);
    assert.notEqual(third.run.id, first.run.id);
  });
}

function pick(run: unknown): Record<string, unknown> {
  const r = run as Record<string, unknown>;
  const keys = ['inserted', 'done', 'failed', 'retrying', 'inFlight', 'left', 'finished'];
  return Object.fromEntries(keys.map((k) => [k, r[k]]));
}

describe('runs through the commands', function () {
  const tmp = useTempDir('runs-cli-');

  describe('file queue', () => {
    runsScenario(
      {
        name: 'fq',
        create: async () => 'fq://./q',
        env: () => ({}),
      },
      tmp,
    );

    it('fq: the run store is a folder python-task-queue ignores, beside queue/', () => {
      const q = path.join(tmp.dir, 'fq', 'q');
      const entries = readdirSync(q).sort();
      assert.ok(entries.includes('runs') && entries.includes('workers'), entries.join(' '));
      assert.equal(readdirSync(path.join(q, 'runs')).filter((f) => f.endsWith('.json')).length, 3);
    });
  });

  describe('SQS (fauxqs)', () => {
    const fauxqs = useFauxqs();
    let n = 0;
    runsScenario(
      {
        name: 'sqs',
        create: async (dir) => {
          const created = await runScript('cli/queue-create.ts', ['--queue', `sqs://runs-${++n}`, '--json'], dir);
          expectOk(created, 'queue:create');
          return JSON.parse(created.stdout).queue as string;
        },
        env: () => fauxqs.server.env,
      },
      tmp,
    );
  });

  describe('Pub/Sub (pstest)', () => {
    const pstest = useToolServer('pstest', startPstest);
    let n = 0;
    runsScenario(
      {
        name: 'pubsub',
        create: async (dir) => {
          const args = ['--queue', `pubsub://runs-project/runs-${++n}`, '--json'];
          const created = await runScript('cli/queue-create.ts', args, dir, pstest.server.env);
          expectOk(created, 'queue:create');
          return JSON.parse(created.stdout).queue as string;
        },
        env: () => pstest.server.env,
      },
      tmp,
    );
  });
});
