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
/** The code version the worker claims, so requeue can tell it from the checkout's. */
const OLD_CODE = 'src-0123456789ab';

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
  it(
    `${backend.name}: insert records a run, workers count it exactly, re-inserting the same table does ` + `nothing`,
    async function () {
      this.timeout(300_000);
      const dir = path.join(tmp.dir, backend.name);
      mkdirSync(dir, { recursive: true });
      const csv = ['i,fail', ...Array.from({ length: ROWS }, (_, i) => `${i},${FAILING.has(i)}`)].join('\n');
      writeFileSync(path.join(dir, 't.csv'), `${csv}\n`);
      const queue = await backend.create(dir);
      const common = ['--queue', queue, '--cloudpath', 'file://./out', '--params', 't.csv'];
      const insertArgs = [...common, '--tasks', FIXTURE_TASKS, '--task', 'fixtures.flaky'];
      const run = async (script: string, args: string[], env: Record<string, string> = {}) => {
        const t0 = Date.now();
        const r = await runScript(script, args, dir, { ...backend.env(), ...env });
        if (process.env.RUNS_TEST_TIMING)
          process.stderr.write(`${script} ${args.slice(-3).join(' ')}: ${Date.now() - t0} ms\n`);
        return r;
      };

      const first = JSON.parse(expectOk(await run('cli/insert.ts', [...insertArgs, '--json']), 'insert').stdout);
      assert.equal(first.inserted, ROWS);
      assert.match(first.run.id, /^r-\d{8}-\d{6}-[0-9a-f]{4}$/);
      assert.equal(first.run.task, 'fixtures.flaky');
      assert.equal(first.run.table.rows, ROWS);
      assert.match(first.run.table.sha256, /^[0-9a-f]{64}$/);
      assert.match(first.run.codeVersion, /^src-[0-9a-f]{12}$/);

      // The same table again while its run is queued: nothing is inserted, and it says which run.
      const again = expectOk(await run('cli/insert.ts', insertArgs), 'insert again');
      assert.match(
        again.stdout,
        new RegExp(`^nothing inserted: this table is already on .*\\n  run ${first.run.id}: `),
      );
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

      const worker = await run(
        'worker/main.ts',
        [
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
        ],
        { GKE_BATCH_CODE_VERSION: OLD_CODE },
      );
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
      assert.match(
        text,
        new RegExp(`${first.run.id}  fixtures\\.flaky\\s+t\\.csv\\s+8\\s+2\\s+0\\s+0\\s+0 .*finished`),
      );
      assert.match(
        text,
        new RegExp(`${second.run.id}  fixtures\\.flaky\\s+t\\.csv \\(first 4\\)\\s+3\\s+1\\s+0\\s+0\\s+0`),
      );

      // Failure triage: the three failures are one error (row numbers differ), with rows and a log command.
      const grouped = expectOk(await run('cli/failures.ts', common), 'failures').stdout;
      assert.match(grouped, /^3 dead-lettered tasks in .*, 1 error:\n\nCOUNT +FIRST \(UTC\) +LAST \(UTC\) +ERROR\n/);
      assert.match(grouped, /^ +3 +\S+ \S+Z +\S+ \S+Z +Error: row <n> failed on purpose$/m);
      assert.match(
        grouped,
        /^ +e\.g\. task \S+, row (3|7) of run r-[\w-]+, 2 tries: Error: row \d failed on purpose$/m,
      );
      assert.match(grouped, new RegExp(`^ +code: ${OLD_CODE}$`, 'm'));
      assert.match(grouped, /^ +logs: grep -hF '"taskId":"[\w-]+"' local\/logs\/worker-\*\.log$/m);
      const ofSecond = JSON.parse(
        expectOk(await run('cli/failures.ts', [...common, '--run', second.run.id, '--json']), 'failures --run').stdout,
      );
      assert.equal(ofSecond.count, 1);
      assert.deepEqual([ofSecond.failures[0].run, ofSecond.failures[0].row], [second.run.id, 3]);
      const seven = JSON.parse(
        expectOk(await run('cli/failures.ts', [...common, '--error', 'ROW 7', '--json']), 'failures --error').stdout,
      );
      assert.deepEqual(
        seven.failures.map((f: { row: number; run: string }) => [f.row, f.run]),
        [[7, first.run.id]],
      );
      assert.deepEqual(
        seven.groups.map((g: { count: number }) => g.count),
        [1],
      );

      // requeue with the same filters; it says they failed on other code and that workers need a restart.
      const requeued = expectOk(await run('cli/requeue.ts', [...common, '--run', second.run.id]), 'requeue').stdout;
      assert.match(requeued, /^Requeued 1 task: workers will run it again\.\n/);
      assert.match(
        requeued,
        new RegExp(`warning: they failed on code ${OLD_CODE}; the code here is now src-[0-9a-f]{12}\.`),
      );
      assert.match(requeued, /Workers pick up new code only when restarted/);
      const after = JSON.parse(expectOk(await run('cli/status.ts', [...common, '--json']), 'status').stdout);
      const requeuedRun = after.runs.runs.find((r: { id: string }) => r.id === second.run.id);
      assert.deepEqual(pick(requeuedRun), {
        inserted: 4,
        done: 3,
        failed: 0,
        retrying: 0,
        inFlight: 0,
        left: 1,
        finished: false,
      });
      const none = expectOk(await run('cli/failures.ts', [...common, '--run', second.run.id]), 'failures').stdout;
      assert.match(none, /^No failed tasks matching the filter: nothing is dead-lettered in /);

      // Finished runs are no obstacle: the same table goes in again as a new run.
      const third = JSON.parse(expectOk(await run('cli/insert.ts', [...insertArgs, '--json']), 'insert after').stdout);
      assert.equal(third.inserted, ROWS);
      assert.notEqual(third.run.id, first.run.id);
    },
  );
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
