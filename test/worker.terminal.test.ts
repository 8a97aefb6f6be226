/**
 * Ctrl-C through `npm run worker` in a real terminal (a tmux pane): the terminal sends SIGINT to
 * the whole foreground process group (npm, tsx, the worker), and npm and tsx relay it. One press
 * must arrive as one graceful stop, two presses as "stop now", whatever the task does.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createQueue, openQueue, Queue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { eventually, FIXTURE_TASKS, LogLine } from './support/workerProcess';
import { skipWithReason } from './support/tools';

const ROOT = path.resolve(__dirname, '..');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

describe('worker in a terminal: Ctrl-C through npm run worker', function () {
  this.timeout(60_000);
  let dir: string;
  let queue: Queue;
  let session: string;

  before(function () {
    if (!hasTmux)
      skipWithReason(
        this,
        'needs tmux for a real terminal: bash scripts/ci-docker.sh (as root) or apt-get install tmux',
      );
  });
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'worker-tty-'));
    queue = await openQueue(await createQueue(`fq://${path.join(dir, 'queue')}`));
    session = `worker-tty-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  });
  afterEach(async () => {
    spawnSync('tmux', ['kill-session', '-t', session]);
    await queue?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const logLines = (): LogLine[] => {
    try {
      return readFileSync(path.join(dir, 'worker.log'), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as LogLine);
    } catch {
      return [];
    }
  };

  /** Starts `npm run worker` in a tmux pane on a never-yielding task and waits for the task to start. */
  async function startInTerminal(graceSeconds: number): Promise<number> {
    await queue.insert([encodeTask(['fixtures', 'spin'], { dir, name: 'spin', ms: 600_000 }, 'tty')]);
    const args = [
      ...['--queue', queue.url, '--tasks', FIXTURE_TASKS, '--cloudpath', `file://${path.join(dir, 'out')}`],
      ...['--lease', '30', '--grace-seconds', String(graceSeconds), '--log-format', 'json'],
    ];
    // The tmux server may be older than this process: pass the PATH (Node 24) explicitly.
    const command =
      `export PATH='${process.env.PATH ?? ''}'; cd ${ROOT} && npm run worker -- ${args.join(' ')} > ` +
      `${path.join(dir, 'worker.log')} 2>&1`;
    execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '50', command], {
      env: { ...process.env },
    });
    const started = await eventually('the worker to start the task', () =>
      logLines().some((line) => line.message === 'task started') ? logLines() : undefined,
    );
    const pid = Number(
      String(started.find((line) => line.message === 'worker started')!.worker)
        .split(':')
        .at(-1),
    );
    assert.ok(pid > 0);
    return pid;
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const ctrlC = () => execFileSync('tmux', ['send-keys', '-t', session, 'C-c']);

  it('one press: one graceful stop; after the grace period the task is released and the worker exits', async () => {
    const pid = await startInTerminal(2);
    const pressedAt = Date.now();
    ctrlC();
    await eventually('the worker to exit', () => !alive(pid), 10_000, 50);
    const exitedAfterMs = Date.now() - pressedAt;
    const lines = logLines();
    assert.equal(
      lines.filter((line) => /^received SIGINT/.test(String(line.message))).length,
      1,
      JSON.stringify(lines),
    );
    assert.ok(exitedAfterMs >= 2000, `the grace period was kept (${exitedAfterMs} ms)`);
    assert.ok(exitedAfterMs <= 2000 + 2000, `exited ${exitedAfterMs} ms after Ctrl-C, grace 2 s`);
    assert.equal(lines.find((line) => line.message === 'worker stopped')?.released, 1);
    const [task] = await queue.lease({ count: 1, seconds: 30 });
    assert.ok(task, 'the task is visible again at once');
  });

  it('two presses: the second stops it at once', async () => {
    const pid = await startInTerminal(30);
    ctrlC();
    await eventually('the first stop', () => logLines().some((line) => /^stopping:/.test(String(line.message))));
    await sleep(700);
    assert.ok(alive(pid), 'still in its 30 s grace period');
    const pressedAt = Date.now();
    ctrlC();
    await eventually('the worker to exit', () => !alive(pid), 5000, 50);
    assert.ok(Date.now() - pressedAt < 1500, `exited ${Date.now() - pressedAt} ms after the second Ctrl-C`);
    const lines = logLines();
    assert.ok(lines.some((line) => /^received SIGINT again/.test(String(line.message))));
    assert.equal(lines.find((line) => line.message === 'worker stopped')?.released, 1);
    const [task] = await queue.lease({ count: 1, seconds: 30 });
    assert.ok(task, 'the task is visible again at once');
  });
});
