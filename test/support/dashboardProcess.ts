/** Runs `npm run dashboard` (cli/dashboard.ts) as a real child process and finds the URL it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'cli', 'dashboard.ts');
const URL_LINE = /^dashboard for (\S+): (http:\/\/\S+)/m;

export interface DashboardProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** SIGINT (Ctrl-C), then the exit code. */
  stop(): Promise<number | null>;
}

export async function startDashboardProcess(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<DashboardProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the dashboard printed no URL in ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const look = () => {
      const match = URL_LINE.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[2]);
      }
    };
    child.stdout.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the dashboard exited (${code}) before printing its URL:\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      return exited;
    },
  };
}
