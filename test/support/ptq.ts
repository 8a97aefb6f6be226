/**
 * The real python-task-queue for the interop tests: the venv scripts/test-tools.sh builds
 * (test/python/requirements.txt), found through test/support/tools.ts.
 */
import { spawn } from 'node:child_process';
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
