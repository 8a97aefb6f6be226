/**
 * The first ten minutes, as a new user lives them: in a fresh copy of the project, the README's
 * local command (`npm start`) runs the example job end to end; interrupted halfway and run again,
 * every task ends done exactly once.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Summary } from '../dashboard/api';
import { copyProject, ROOT } from './support/projectCopy';

/** The README's first command block: the line that runs the job locally. */
function readmeLocalCommand(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README.md has no ```sh block');
  const line = block[1]!.split('\n').find((l) => l.includes('npm start'));
  assert.ok(line, "the README's first command block does not run npm start");
  return line.replace(/#.*$/, '').trim();
}

interface Run {
  readonly child: ChildProcess;
  readonly output: () => string;
  /** The exit code; a process ended by a signal (npm re-raises Ctrl-C on itself) gives the shell's 128 + n. */
  readonly exit: Promise<number | null>;
}

/** Runs a command line (no shell) in its own process group, so a test can Ctrl-C it like a terminal. */
function run(commandLine: string, cwd: string): Run {
  const [program, ...args] = commandLine.split(/\s+/);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['TASKQUEUE_PATH', 'TQ_LEASE_SECONDS', 'TASK_PARAMETER_FILENAME', 'CF_CLOUDPATH']) delete env[key];
  const child = spawn(program!, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ? 128 + osConstants.signals[signal] : code)),
  );
  return { child, output: () => text, exit };
}

function outputsIn(dir: string): string[] {
  const primes = path.join(dir, 'local', 'outputs', 'primes');
  return existsSync(primes) ? readdirSync(primes).filter((f) => f.endsWith('.json')) : [];
}

describe('npm start on a fresh copy of the project (end to end)', function () {
  this.timeout(180_000);
  const copies: string[] = [];
  after(() => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('runs the README command: example table, insert, workers, every output written, summary', async () => {
    const dir = copyProject();
    copies.push(dir);
    const command = readmeLocalCommand().replace(/^npm install && /, ''); // node_modules is already there
    const { output, exit } = run(command, dir);
    const code = await exit;
    assert.equal(code, 0, output());
    assert.match(output(), /created local\/params\.feather: the example table \(1000 rows/);
    assert.match(output(), /done: 1,000 of 1,000 tasks completed, 0 failed \(run r-[\w-]+\), 0 left in the queue/);
    assert.match(output(), /outputs: file:\/\/\.\/local\/outputs/);
    assert.match(output(), /dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(while this run lasts/);
    const files = outputsIn(dir);
    assert.equal(files.length, 1000);
    const first = JSON.parse(readFileSync(path.join(dir, 'local', 'outputs', 'primes', '0.json'), 'utf8'));
    assert.deepEqual(first, { start: 0, count: 10000, label: 'block 0', primes: 1229, largest: 9973 });

    // Run again: everything is done, so nothing is inserted and nothing runs.
    const again = run(command, dir);
    assert.equal(await again.exit, 0, again.output());
    assert.match(
      again.output(),
      /inserted 0 tasks as run r-[\w-]+ \(1,000 of 1,000 rows skipped: output already there\)/,
    );
  });

  it('stops cleanly on Ctrl-C halfway and resumes: every task done exactly once', async () => {
    const dir = copyProject();
    copies.push(dir);
    const rows = 120;
    const csv = [
      'start,count,label,sleep_ms',
      ...Array.from({ length: rows }, (_, i) => `${i * 100},100,row ${i},150`),
    ].join('\n');
    mkdirSync(path.join(dir, 'local'), { recursive: true });
    writeFileSync(path.join(dir, 'local', 'slow.csv'), `${csv}\n`);
    const command = 'npm start -- --params local/slow.csv --workers 2';

    const first = run(command, dir);
    // The dashboard npm start serves while it runs shows this run.
    const dashboardUrl = /dashboard: (http:\S+)/;
    while (!dashboardUrl.test(first.output()) && first.child.exitCode === null) await sleep(100);
    const answer = await fetch(new URL('/api/summary', dashboardUrl.exec(first.output())![1]));
    const summary = (await answer.json()) as Summary;
    assert.equal(summary.queue.kind, 'fq');
    assert.deepEqual(
      summary.runs?.runs.map((r) => [r.task, r.inserted]),
      [['tasks.example.count_primes', rows]],
    );
    const deadline = Date.now() + 60_000;
    while (outputsIn(dir).length < rows / 4 && Date.now() < deadline) await sleep(100);
    assert.ok(outputsIn(dir).length < rows, 'the run finished before it could be interrupted');
    process.kill(-first.child.pid!, 'SIGINT'); // what a terminal's Ctrl-C does: the whole foreground group
    const code = await first.exit;
    assert.equal(code, 130, first.output());
    assert.match(first.output(), /interrupted: nothing was lost; run npm start again to resume/);
    const doneAtInterrupt = outputsIn(dir).length;
    assert.ok(doneAtInterrupt > 0 && doneAtInterrupt < rows, `${doneAtInterrupt} of ${rows} done at the interrupt`);

    const queueDir = path.join(dir, 'local', 'queue');
    const leftInQueue = readdirSync(path.join(queueDir, 'queue')).length;
    assert.equal(doneAtInterrupt + leftInQueue, rows, 'every task is either done or back in the queue');

    const second = run(command, dir);
    assert.equal(await second.exit, 0, second.output());
    assert.match(second.output(), /resuming run r-[\w-]+: tasks\.example\.count_primes from .*slow\.csv.*, \d+ left/);
    assert.equal(outputsIn(dir).length, rows);
    // Exactly once: each task was inserted once and completed (deleted after success) once.
    assert.equal(readFileSync(path.join(queueDir, 'insertions'), 'utf8'), String(rows));
    assert.equal(statSync(path.join(queueDir, 'completions')).size, rows);
    assert.equal(readdirSync(path.join(queueDir, 'queue')).length, 0);
  });
});
