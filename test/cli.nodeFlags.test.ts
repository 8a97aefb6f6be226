/**
 * lib/cli/nodeFlags.ts: a command started without the Node flags it needs runs again with them,
 * with the same arguments, output and exit status, and a signal sent to it ends the relaunched one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { INSERT_NODE_FLAGS } from '../lib/cli/nodeFlags';
import { runScript } from './support/cliRun';

const FIXTURE = path.join(__dirname, 'fixtures', 'nodeFlags', 'relaunch.ts');
const TSX = require.resolve('tsx/cjs');

interface Report {
  readonly pid: number;
  readonly ppid: number;
  readonly execArgv: string[];
  readonly args: string[];
}

function start(nodeFlags: string[], args: string[]) {
  const child = spawn(process.execPath, ['-r', TSX, ...nodeFlags, FIXTURE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const firstLine = new Promise<Report>((resolve, reject) => {
    child.stdout.on('data', () => {
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.slice(0, stdout.indexOf('\n'))) as Report);
    });
    child.once('close', () => reject(new Error(`no report; stderr: ${stderr}`)));
  });
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, firstLine, closed, stderr: () => stderr };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('Node flags a command needs (relaunch)', function () {
  this.timeout(30_000);

  it('started without the flag: runs again with it, same arguments, output and exit status', async () => {
    const run = start([], ['exit:7', 'a b', '--json']);
    const report = await run.firstLine;
    const [code] = await run.closed;
    assert.equal(code, 7, run.stderr());
    assert.equal(report.ppid, run.child.pid, 'the report comes from a child of the started process');
    assert.ok(report.execArgv.includes('--max-semi-space-size=3'), report.execArgv.join(' '));
    assert.ok(report.execArgv.includes(TSX), 'the TypeScript loader is kept');
    assert.deepEqual(report.args, ['a b', '--json']);
  });

  it('started with the flag: runs in place, no second process', async () => {
    const run = start(['--max-semi-space-size=3'], ['exit:0']);
    const report = await run.firstLine;
    const [code] = await run.closed;
    assert.equal(code, 0, run.stderr());
    assert.equal(report.pid, run.child.pid);
  });

  it('a signal sent to the started process ends the relaunched one, and both end by that signal', async () => {
    const run = start([], ['wait']);
    const report = await run.firstLine;
    assert.notEqual(report.pid, run.child.pid);
    run.child.kill('SIGTERM');
    const [code, signal] = await run.closed;
    assert.deepEqual([code, signal], [null, 'SIGTERM'], run.stderr());
    for (let i = 0; i < 50 && alive(report.pid); i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(report.pid), false, `the relaunched process ${report.pid} is still running`);
  });

  it('npm run insert runs with INSERT_NODE_FLAGS', async () => {
    const tasks = path.join(__dirname, 'fixtures', 'nodeFlags', 'tasks.ts');
    const result = await runScript('cli/insert.ts', ['--tasks', tasks, '--dry-run'], os.tmpdir());
    assert.equal(result.code, 1, 'the fixture lists no task');
    const execArgv = JSON.parse(/^execArgv (.*)$/m.exec(result.stderr)?.[1] ?? 'null') as string[] | null;
    assert.ok(execArgv, result.stderr);
    for (const flag of INSERT_NODE_FLAGS) assert.ok(execArgv.includes(flag), `${flag} in ${execArgv.join(' ')}`);
  });
});
