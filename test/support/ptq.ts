/**
 * The real python-task-queue for the interop tests. Until the shared tool finder lands
 * (test/support/tools.ts, findTool('python')), this looks for a virtual environment holding
 * task-queue 2.14.3: GKE_BATCH_PTQ_PYTHON, else ~/.cache/gke-batch/scratch-venv-queue/bin/python.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const INSTALL =
  'python3 -m venv ~/.cache/gke-batch/scratch-venv-queue && ~/.cache/gke-batch/scratch-venv-queue/bin/pip install task-queue==2.14.3';

export function ptqPython(): string | undefined {
  const candidate =
    process.env.GKE_BATCH_PTQ_PYTHON ??
    path.join(os.homedir(), '.cache', 'gke-batch', 'scratch-venv-queue', 'bin', 'python');
  return fs.existsSync(candidate) ? candidate : undefined;
}

/** Skips the suite, saying how to install python-task-queue, when it is not there. */
export function requirePtq(context: Mocha.Context): string {
  const python = ptqPython();
  if (!python) {
    console.log(`      skipped: python-task-queue not found; install it with: ${INSTALL}`);
    context.skip();
  }
  return python!;
}

export const PTQ_INSTALL_HINT = INSTALL;

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
