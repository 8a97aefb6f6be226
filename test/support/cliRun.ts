/** Runs a project script as a child process under tsx, without the task settings of this process. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ENV_NAMES } from '../../lib/settings';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = require.resolve('tsx/cjs');

export interface ScriptRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runScript(
  script: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string> = {},
): Promise<ScriptRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extraEnv };
  for (const key of ENV_NAMES) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', TSX, path.join(ROOT, script), ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The example task's name: tests that use it say so, rather than rely on it being listed first. */
export const EXAMPLE_TASK = 'tasks.example.count_primes';

/** The scripts that pick a task (`--task`), defaulting to the first in tasks/index.ts. */
const TASK_SCRIPTS = new Set(['cli/insert.ts', 'cli/params.ts', 'cli/task.ts', 'cli/run-local.ts']);

/**
 * `runScript` with `--task tasks.example.count_primes` added for the scripts that pick a task, so
 * a test of the example task passes whatever task a user lists first in tasks/index.ts.
 */
export function runWithExampleTask(
  script: string,
  args: string[],
  cwd: string,
  extraEnv: Record<string, string> = {},
): Promise<ScriptRun> {
  const picksTask = TASK_SCRIPTS.has(script) && !args.includes('--help') && !args.includes('--task');
  return runScript(script, picksTask ? [...args, '--task', EXAMPLE_TASK] : args, cwd, extraEnv);
}
