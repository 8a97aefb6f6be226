import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openQueue } from '../lib/queue';
import type { Queue } from '../lib/queue/types';
import { cliPath, watchWhileCompleting, exampleBodies, failureFor, ROOT, runCli, type OpsCommand } from './ops.helpers';

const STATUS_KEYS = [
  'queue',
  'kind',
  'time',
  'approximate',
  'inserted',
  'enqueued',
  'leased',
  'delayed',
  'completed',
  'failed',
  'percent',
  'runs',
  'throughput',
  'etaSeconds',
  'drained',
].sort();
const FAILURE_KEYS = [
  'id',
  'task',
  'params',
  'malformed',
  'attempts',
  'reason',
  'error',
  'message',
  'stack',
  'worker',
  'failedAt',
  'body',
  'run',
  'row',
  'codeVersion',
].sort();

describe('ops commands on the file queue', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'ops-fq-'));
  let n = 0;
  /** A fresh queue URL per test. */
  const freshUrl = () => `fq://${path.join(dir, `q${++n}`)}`;
  const opened: Queue[] = [];
  const open = async (url: string) => {
    const q = await openQueue(url);
    opened.push(q);
    return q;
  };
  after(async () => {
    await Promise.all(opened.map((q) => q.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Inserts `total`, completes `completed`, dead-letters `failed` and keeps `leased` leased. */
  async function seed(url: string, total: number, completed: number, failed: number, leased: number) {
    const q = await open(url);
    await q.insert(exampleBodies(total));
    const tasks = await q.lease({ count: completed + failed + leased, seconds: 600 });
    assert.equal(tasks.length, completed + failed + leased);
    for (const t of tasks.slice(0, completed)) await q.delete(t);
    for (const t of tasks.slice(completed, completed + failed))
      await q.deadLetter(t, failureFor(t, `boom ${t.id}\ndetail`));
    return { queue: q, failedIds: tasks.slice(completed, completed + failed).map((t) => t.id) };
  }

  it('queue:create makes the python-task-queue layout, idempotently', async () => {
    const url = freshUrl();
    const root = url.slice('fq://'.length);
    const first = await runCli('queue-create', ['--queue', url]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`^TASKQUEUE_PATH=fq://${root}$`, 'm'));
    assert.ok(statSync(path.join(root, 'queue')).isDirectory());
    assert.ok(statSync(path.join(root, 'movement')).isDirectory());
    assert.equal(readFileSync(path.join(root, 'insertions'), 'utf8'), '0');

    const q = await open(url);
    await q.insert(exampleBodies(3));
    const again = await runCli('queue-create', ['--queue', url, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), {
      queue: url,
      kind: 'fq',
      deadLetterQueue: null,
      maxAttempts: null,
      maxReceiveCount: null,
      leaseSeconds: null,
    });
    assert.equal(readFileSync(path.join(root, 'insertions'), 'utf8'), '3', 'creating again keeps what is there');
    assert.equal((await q.counts()).enqueued, 3);
  });

  it('status counts inserts, leases, completions and failures, with ptq-style percentages', async () => {
    const url = freshUrl();
    await seed(url, 20, 6, 2, 3);
    const json = await runCli('status', ['--queue', url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.deepEqual(Object.keys(report).sort(), STATUS_KEYS);
    assert.deepEqual(
      {
        inserted: report.inserted,
        enqueued: report.enqueued,
        leased: report.leased,
        completed: report.completed,
        failed: report.failed,
      },
      { inserted: 20, enqueued: 12, leased: 3, completed: 6, failed: 2 },
    );
    assert.deepEqual(report.percent, { enqueued: 60, leased: 25, completed: 30, failed: 10 });
    assert.equal(report.approximate, false);
    assert.equal(report.throughput, null);
    assert.equal(report.drained, false);

    const human = await runCli('status', ['--queue', url]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^enqueued +12 +60\.0% left$/m);
    assert.match(human.stdout, /^leased +3 +25\.0% of queue +in flight$/m);
    assert.match(human.stdout, /^completed +6 +30\.0%$/m);
    assert.match(human.stdout, /^failed +2 +10\.0% +dead-lettered: npm run failures$/m);
    assert.match(human.stdout, /--watch/, 'says how to get throughput and ETA');
  });

  it('leaves insertions and completions exactly as python-task-queue reads them (ptq status agrees)', async () => {
    const url = freshUrl();
    const root = url.slice('fq://'.length);
    const { queue } = await seed(url, 7, 0, 0, 0);
    const tasks = await queue.lease({ count: 4, seconds: 60 });
    for (const t of tasks) await queue.delete(t);
    // ptq status: inserted = int(insertions), completed = size of completions, enqueued = files in queue/.
    assert.equal(readFileSync(path.join(root, 'insertions'), 'latin1'), '7');
    assert.deepEqual(readFileSync(path.join(root, 'completions')), Buffer.alloc(4));
    const { stdout } = await runCli('status', ['--queue', url, '--json']);
    const report = JSON.parse(stdout);
    assert.deepEqual([report.inserted, report.completed, report.enqueued], [7, 4, 3]);
    // The same percentages ptq prints: "Enqueued: 3 (42.9% left)", "Completed: 4 (57.1%)".
    assert.deepEqual([report.percent.enqueued, report.percent.completed], [42.9, 57.1]);
  });

  it('failures lists dead letters (table, --full, --json) and requeue puts them back', async () => {
    const url = freshUrl();
    const { queue, failedIds } = await seed(url, 6, 1, 3, 0);

    const [table, full, json] = await Promise.all([
      runCli('failures', ['--queue', url, '--list']),
      runCli('failures', ['--queue', url, '--full']),
      runCli('failures', ['--queue', url, '--json']),
    ]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^3 dead-lettered tasks in .*, 1 error:/);
    for (const id of failedIds)
      assert.match(
        table.stdout,
        new RegExp(`^${id} +tasks\\.example\\.count_primes +1 +\\S+ \\S+Z +TaskError: boom ${id}$`, 'm'),
      );
    assert.match(table.stdout, /^ {4}start=\d+ count=100 label="row \d" cloudpath="file:\/\/\/tmp\/ops-out"$/m);
    assert.ok(!table.stdout.includes('at run ('), 'stacks only with --full');

    assert.match(full.stdout, /^ {8}at run \(tasks\/example\.ts:40:11\)$/m);

    const listed = JSON.parse(json.stdout);
    assert.equal(listed.queue, url);
    assert.equal(listed.count, 3);
    assert.deepEqual(listed.failures.map((f: { id: string }) => f.id).sort(), [...failedIds].sort());
    assert.deepEqual(Object.keys(listed.failures[0]).sort(), FAILURE_KEYS);
    assert.equal(listed.failures[0].task, 'tasks.example.count_primes');
    assert.equal(listed.failures[0].params.count, 100);
    assert.match(listed.failures[0].stack, /at run/);

    const typo = await runCli('requeue', ['--queue', url, '--id', failedIds[0], '--id', 'no-such-id']);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /not dead-lettered in .*: no-such-id\n.*nothing was requeued/);
    const one = await runCli('requeue', ['--queue', url, '--id', failedIds[0], '--json']);
    assert.equal(one.code, 0, one.stderr);
    const { queue: requeuedFrom, requested, moved } = JSON.parse(one.stdout);
    assert.deepEqual({ queue: requeuedFrom, requested, moved }, { queue: url, requested: [failedIds[0]], moved: 1 });
    const rest = await runCli('requeue', ['--queue', url]);
    assert.equal(rest.code, 0, rest.stderr);
    assert.match(rest.stdout, /^Requeued 2 tasks/);

    const counts = await queue.counts();
    assert.deepEqual([counts.enqueued, counts.failed, counts.completed], [5, 0, 1]);
    const empty = await runCli('failures', ['--queue', url]);
    assert.equal(empty.code, 0);
    assert.match(empty.stdout, /^No failed tasks: nothing is dead-lettered in /);
  });

  it('release makes every leased task available now', async () => {
    const url = freshUrl();
    const { queue } = await seed(url, 5, 0, 0, 4);
    const released = await runCli('release', ['--queue', url, '--json']);
    assert.equal(released.code, 0, released.stderr);
    assert.deepEqual(JSON.parse(released.stdout), { queue: url, released: 4 });
    const counts = await queue.counts();
    assert.deepEqual([counts.enqueued, counts.leased], [5, 0]);
    assert.equal((await queue.lease({ count: 10, seconds: 60 })).length, 5, 'all leasable again');
  });

  it('purge refuses without a terminal and without --yes, and purges with --yes', async () => {
    const url = freshUrl();
    const { queue } = await seed(url, 4, 1, 1, 0);
    const refused = await runCli('purge', ['--queue', url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to purge .* without confirmation: stdin is not a terminal/);
    assert.match(refused.stderr, /--yes/);
    assert.equal((await queue.counts()).enqueued, 2, 'nothing removed');

    const purged = await runCli('purge', ['--queue', url, '--yes', '--json']);
    assert.equal(purged.code, 0, purged.stderr);
    assert.deepEqual(JSON.parse(purged.stdout), {
      queue: url,
      purged: true,
      removed: 2,
      failed: 1,
      approximate: false,
    });
    const after = await queue.counts();
    assert.deepEqual([after.enqueued, after.inserted, after.completed, after.failed], [0, 0, 0, 0]);
  });

  it('purge asks on a terminal: "n" keeps everything, "y" purges', async () => {
    const url = freshUrl();
    const { queue } = await seed(url, 3, 0, 0, 0);
    const no = await answerOnTerminal(['--queue', url], 'n');
    assert.equal(no.code, 1, no.output);
    assert.match(no.output, /Remove 3 enqueued tasks/);
    assert.match(no.output, /Purge cancelled: nothing was removed/);
    assert.equal((await queue.counts()).enqueued, 3);
    const yes = await answerOnTerminal(['--queue', url], 'y');
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, /Purged fq:/);
    assert.equal((await queue.counts()).enqueued, 0);
  });

  it('status --watch --json samples until the queue drains, with throughput and ETA', async () => {
    const url = freshUrl();
    const { queue } = await seed(url, 12, 0, 0, 0);
    const result = await watchWhileCompleting(url, queue);
    assert.equal(result.code, 0, result.stderr);
    const reports = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.ok(reports.length >= 3, `several samples, got ${reports.length}`);
    for (const r of reports) assert.deepEqual(Object.keys(r).sort(), STATUS_KEYS);
    const last = reports.at(-1);
    assert.equal(last.drained, true);
    assert.equal(last.completed, 12);
    assert.ok(
      reports.slice(0, -1).every((r) => !r.drained),
      'stops at the first drained sample',
    );
    const moving = reports.find((r) => r.throughput && r.throughput.perSecond > 0 && !r.drained);
    assert.ok(moving, `a sample with a rate: ${result.stdout}`);
    assert.equal(moving.throughput.basis, 'processed');
    assert.ok(moving.etaSeconds !== null && moving.etaSeconds >= 0);
  });

  it('status --watch prints plain lines when stdout is no terminal, and ends at once on an empty queue', async () => {
    const url = freshUrl();
    await seed(url, 2, 2, 0, 0);
    const result = await runCli('status', ['--queue', url, '--watch', '0.2']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(
        /^watching fq:\S+ \(file queue\)\n\S+Z inserted=2 enqueued=0 leased=0 completed=2 failed=0/.source +
          / drained\nqueue is empty \(2 completed, 0 failed\)\n$/.source,
      ),
    );
  });

  it('status --watch on a terminal redraws a progress bar in place until the queue drains', async () => {
    const url = freshUrl();
    const { queue } = await seed(url, 4, 2, 1, 0);
    const [last] = await queue.lease({ count: 1, seconds: 600 });
    let finishing: Promise<void> | undefined;
    const result = await onTerminal('status', ['--queue', url, '--watch', '0.2'], (output) => {
      // Complete the last task once the first frame is on screen.
      if (!finishing && output.includes('3 of 4 done')) finishing = queue.delete(last);
    });
    await finishing;
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /█{30}░{10} 75\.0% {2}3 of 4 done/);
    assert.match(result.output, /█{40} 100\.0% {2}4 of 4 done/);
    assert.match(result.output, /\x1b\[\d+A/, 'moves the cursor up to redraw');
    assert.match(result.output, /\x1b\[\?25l/, 'hides the cursor while redrawing');
    assert.match(result.output, /\x1b\[\?25h/, 'shows it again');
    assert.match(
      result.output,
      /queue drained \(3 completed, 1 failed; watched \d+s\)\r?\nsee what failed: npm run failures/,
    );
  });

  it('status --watch ends on Ctrl-C with exit code 130', async () => {
    const url = freshUrl();
    await seed(url, 2, 0, 0, 2); // leased for 10 minutes: never drains during the test
    const result = await runCli('status', ['--queue', url, '--watch', '0.2'], {}, (out, child) => {
      if (out.includes('enqueued=2')) child.kill('SIGINT');
    });
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stdout, /inserted=2 enqueued=2 leased=2 completed=0 failed=0/);
  });

  it('says how to create a queue that does not exist, and rejects bad arguments', async () => {
    const url = `fq://${path.join(dir, 'missing')}`;
    const commands = ['status', 'failures', 'release', 'requeue', 'purge'] as const;
    const [bad, ...results] = await Promise.all([
      runCli('status', ['--queue', url, '--watch', 'soon']),
      ...commands.map((command) => runCli(command, ['--queue', url, ...(command === 'purge' ? ['--yes'] : [])])),
    ]);
    results.forEach((result, i) => {
      assert.equal(result.code, 1, `${commands[i]}: ${result.stdout}`);
      assert.match(result.stderr, /does not exist/, commands[i]);
      assert.match(result.stderr, /npm run queue:create -- --queue fq:/, commands[i]);
    });
    assert.ok(!existsSync(path.join(dir, 'missing')), 'looking does not create it');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--watch.*soon.*expected a number of seconds > 0/);
  });
});

/** Runs `purge` on a pseudo-terminal and types `answer` at the question. */
function answerOnTerminal(args: readonly string[], answer: string): Promise<{ code: number | null; output: string }> {
  let answered = false;
  return onTerminal('purge', args, (output, type) => {
    if (!answered && output.includes('(y/N)')) {
      answered = true;
      type(`${answer}\r`);
    }
  });
}

/**
 * Runs a command on a pseudo-terminal (util-linux `script`, part of every Debian base system).
 * `onOutput` sees the output so far and can type into the terminal.
 */
function onTerminal(
  command: OpsCommand,
  args: readonly string[],
  onOutput: (soFar: string, type: (keys: string) => void) => void = () => {},
): Promise<{ code: number | null; output: string }> {
  const line = [process.execPath, '--import', 'tsx', cliPath(command), ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', line, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: string) => {
      output += chunk;
      onOutput(output, (keys) => child.stdin.write(keys));
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
