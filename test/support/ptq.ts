/**
 * The real python-task-queue for the interop tests: the venv scripts/test-tools.sh builds
 * (test/python/requirements.txt), found through test/support/tools.ts.
 */
import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireToolOrSkip } from './tools';

/** The venv's python; skips the suite saying how to install it (fails it under CI=true). */
export function requirePtq(context: Mocha.Context): string {
  return requireToolOrSkip(context, 'python');
}

export interface PtqRun {
  readonly stdout: string;
  readonly stderr: string;
}

const SCRIPTS = path.resolve(__dirname, '..', 'python');

/**
 * Runs `python test/python/<script>` (or the `ptq` CLI when `script` is 'ptq') with a scratch HOME
 * (importing taskqueue creates ~/.cloudvolume/secrets); rejects with its output on a non-zero exit.
 */
export function runPtq(
  python: string,
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<PtqRun> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-home-'));
  const [command, argv] =
    script === 'ptq'
      ? [path.join(path.dirname(python), 'ptq'), [...args]]
      : [python, [path.join(SCRIPTS, script), ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, argv, {
      cwd: SCRIPTS,
      env: { ...process.env, ...env, HOME: home, PYTHONPATH: SCRIPTS, PYTHONIOENCODING: 'utf-8' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      fs.rmSync(home, { recursive: true, force: true });
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(new Error(`${path.basename(command)} ${argv.join(' ')} exited ${code ?? signal}:\n${stderr}${stdout}`));
    });
  });
}

/** `ptq status` output as numbers: {"Inserted": 3, "Enqueued": 2, ...}. */
export function parsePtqStatus(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const match of text.matchAll(/^(\w+): (\d+)/gm)) out[match[1]!] = Number(match[2]);
  return out;
}

/** A python-task-queue process left running (a `poll` worker), to be killed or awaited. */
export interface PtqProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts `python test/python/<script> ARGS...` as runPtq does, without waiting for it. */
export function spawnPtq(
  python: string,
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
): PtqProcess {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'ptq-home-'));
  const child = spawn(python, [path.join(SCRIPTS, script), ...args], {
    cwd: SCRIPTS,
    env: { ...process.env, ...env, HOME: home, PYTHONPATH: SCRIPTS, PYTHONIOENCODING: 'utf-8' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => {
      fs.rmSync(home, { recursive: true, force: true });
      resolve({ code, signal });
    }),
  );
  const started: PtqProcess = { child, exited, output: () => output };
  return started;
}
