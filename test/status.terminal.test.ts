/**
 * `npm run status -- --watch` in a real terminal (a tmux pane) narrower than its lines: the block is
 * redrawn in place, and a line wider than the terminal wraps instead of losing its end.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fitToWidth } from '../lib/ops/watch';
import { useTempDir, writeTable } from './support/arrow-tables';
import { exampleColumns } from './support/bad-tables';
import { runWithExampleTask } from './support/cliRun';
import { skipWithReason } from './support/tools';

const ROOT = path.resolve(__dirname, '..');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const COLUMNS = 72;

describe('fitToWidth', () => {
  it('keeps short lines, wraps long ones at word ends with continuations indented', () => {
    const long = 'workers-run-7-unschedulable  Pending  Unschedulable: 0/3 nodes are available: 1 node(s) were cut';
    const lines = fitToWidth(['short', long], 40);
    assert.equal(lines[0], 'short');
    assert.ok(lines.length >= 4, lines.join('\n'));
    for (const line of lines) assert.ok(line.length <= 39, `${line.length}: ${line}`);
    for (const line of lines.slice(2)) assert.match(line, /^ {2}\S/);
    assert.equal(lines.slice(1).join(' ').replace(/\s+/g, ' '), long.replace(/\s+/g, ' '));
  });

  it('breaks a word longer than the line', () => {
    const word = 'x'.repeat(50);
    assert.deepEqual(fitToWidth([word], 21), ['x'.repeat(20), `  ${'x'.repeat(18)}`, `  ${'x'.repeat(12)}`]);
  });
});

describe('status --watch in a terminal narrower than its lines', function () {
  this.timeout(90_000);
  const tmp = useTempDir('status-tty-');
  const session = `status-tty-${process.pid}`;

  before(function () {
    if (!hasTmux) skipWithReason(this, 'needs tmux for a real terminal: apt-get install tmux');
  });
  after(() => spawnSync('tmux', ['kill-session', '-t', session]));

  it('wraps the runs table instead of cutting it, and redraws in place', async () => {
    const table = 'a-parameter-table-with-a-rather-long-name-from-the-lab.feather';
    const file = await writeTable(path.join(tmp.dir, table), exampleColumns(25));
    const url = `fq://${path.join(tmp.dir, 'queue')}`;
    const flags = ['--queue', url, '--cloudpath', `file://${path.join(tmp.dir, 'out')}`];
    const insert = await runWithExampleTask('cli/insert.ts', ['--params', file, ...flags], tmp.dir);
    assert.equal(insert.code, 0, insert.stderr);

    // The tmux server may be older than this process: pass the PATH (Node 24) explicitly.
    const status = `npm run status -- ${flags.join(' ')} --watch 1`;
    const command = `export PATH='${process.env.PATH ?? ''}'; cd ${ROOT} && ${status}`;
    const size = ['-x', String(COLUMNS), '-y', '60'];
    execFileSync('tmux', ['new-session', '-d', '-s', session, ...size, command], { env: { ...process.env } });
    let screen = '';
    for (let i = 0; i < 40 && !/ETA/.test(screen); i++) {
      await sleep(500);
      screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
    }
    await sleep(3_000); // a few more redraws
    screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
    const lines = screen.split('\n');
    for (const line of lines) assert.ok(line.length <= COLUMNS, screen);
    // The last column's heading and the run's whole table name are on screen (cli-progress cut them).
    assert.match(screen, /\bETA\b/, screen);
    assert.ok(lines.join(' ').replace(/\s+/g, '').includes(table.replace(/\s+/g, '')), screen);
    assert.match(screen, /\b25\b/, 'the run has 25 tasks left');
    // Redrawn in place: one header, however many samples were drawn.
    assert.equal(lines.filter((line) => line.includes('(file queue)')).length, 1, screen);
  });
});
