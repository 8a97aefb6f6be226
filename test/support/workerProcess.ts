/**
 * Runs `worker/main.ts` as a real child process for tests (one process: node with tsx's require
 * hook, so signals reach the worker itself), collects its JSON log lines, and records what the
 * fixture tasks in test/fixtures/tasks wrote.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = path.resolve(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'worker', 'main.ts');
export const FIXTURE_TASKS = path.join(ROOT, 'test', 'fixtures', 'tasks', 'index.ts');
/** The same tasks, slow to load in a task thread (test/fixtures/tasks/slowToLoad.ts). */
export const SLOW_LOADING_TASKS = path.join(ROOT, 'test', 'fixtures', 'tasks', 'slowToLoad.ts');

export type LogLine = Record<string, unknown> & { readonly message?: string; readonly severity?: string };

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class WorkerProcess {
  readonly logs: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;

  constructor(readonly child: ChildProcess) {
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.trim() !== '') this.logs.push(parseLine(line));
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve((this.exit = { code, signal }))),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves with the first log line matching, waiting up to `timeoutMs`. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logs.find(match);
      if (line) return line;
      if (!this.running)
        throw new Error(
          `worker ${this.pid} exited (${JSON.stringify(this.exit)}) without logging the line\n${this.describe()}`,
        );
      if (Date.now() > deadline)
        throw new Error(`worker ${this.pid} did not log the line within ${timeoutMs} ms\n${this.describe()}`);
      await sleep(50);
    }
  }

  async waitForExit(timeoutMs = 30_000): Promise<Exit> {
    // Unref'd: a pending timeout must not keep mocha alive after the worker exited.
    const timeout = sleep(timeoutMs, undefined, { ref: false }).then(() => undefined);
    const exit = await Promise.race([this.exited, timeout]);
    if (!exit) throw new Error(`worker ${this.pid} did not exit within ${timeoutMs} ms\n${this.describe()}`);
    return exit;
  }

  /** The worker's final summary line. */
  summary(): LogLine | undefined {
    return this.logs.find((line) => line.message === 'worker stopped');
  }

  describe(): string {
    const tail = this.logs
      .slice(-15)
      .map((line) => JSON.stringify(line))
      .join('\n');
    return `--- last log lines ---\n${tail}\n--- stderr ---\n${this.stderr.slice(-3000)}`;
  }
}

function parseLine(line: string): LogLine {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return { message: line, unparsed: true };
  }
}

const started = new Set<WorkerProcess>();

/** Starts a worker with these arguments and extra environment; it runs from the repository root. */
export function spawnWorker(args: readonly string[], env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', MAIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker = new WorkerProcess(child);
  started.add(worker);
  void worker.exited.then(() => started.delete(worker));
  return worker;
}

/** Starts a worker and waits for its "worker started" line. */
export async function startWorker(args: readonly string[], env: Record<string, string> = {}): Promise<WorkerProcess> {
  const worker = spawnWorker(args, env);
  await worker.waitForLog((line) => line.message === 'worker started');
  return worker;
}

/** Kills (SIGKILL) every worker a test left running. */
export async function killAllWorkers(): Promise<void> {
  const running = [...started];
  for (const worker of running) worker.signal('SIGKILL');
  await Promise.all(running.map((worker) => worker.exited));
}

export interface Execution {
  readonly pid: number;
  readonly attempt: number;
}

/** What a fixture task appended to `<dir>/<name>.<event>`: one entry per execution. */
export function executions(dir: string, name: string, event: 'start' | 'done'): Execution[] {
  const file = path.join(dir, `${name}.${event}`);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [pid, attempt] = line.split(' ').map(Number);
      return { pid: pid!, attempt: attempt! };
    });
}

/** How many `<name>.<event>` record files exist in `dir`. */
export function countRecords(dir: string, event: 'start' | 'done'): number {
  return readdirSync(dir).filter((name) => name.endsWith(`.${event}`)).length;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
