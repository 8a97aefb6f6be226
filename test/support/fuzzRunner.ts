/**
 * Runs the fuzzer (`fuzz.ts`) in a worker thread, so a mutant that hangs the reader (a busy loop
 * never yields) is caught: when no mutant finishes within `timeoutMs`, the worker is stopped and
 * that mutant is reported as a hang.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FuzzEvent, FuzzFixture } from './fuzz';

export interface FuzzSummary {
  readonly mutants: number;
  /** Outcome → how many mutants had it. */
  readonly outcomes: Record<string, number>;
  readonly failures: string[];
}

export function runFuzz(
  fixtures: readonly FuzzFixture[],
  options: { seed: number; runs: number; dir: string; timeoutMs: number; onEvent?: (event: FuzzEvent) => void },
): Promise<FuzzSummary> {
  const worker = new Worker(path.join(__dirname, 'fuzzWorker.ts'), {
    execArgv: ['--require', require.resolve('tsx/cjs')],
    workerData: { fixtures, seed: options.seed, runs: options.runs, dir: options.dir },
  });
  const outcomes: Record<string, number> = {};
  const failures: string[] = [];
  let mutants = 0;
  let current: { fixture: string; describe: string } | undefined;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        failures.push(`${current?.fixture}: ${current?.describe}: no result within ${options.timeoutMs} ms (a hang)`);
        void worker.terminate().then(() => resolve({ mutants, outcomes, failures }));
      }, options.timeoutMs);
    };
    arm();
    worker.on('message', (event: FuzzEvent | { type: 'done' } | { type: 'crash'; error: string }) => {
      if (event.type === 'start') {
        current = event;
        arm();
      } else if (event.type === 'result') {
        options.onEvent?.(event);
        mutants++;
        if (event.verdict.ok) outcomes[event.verdict.outcome] = (outcomes[event.verdict.outcome] ?? 0) + 1;
        else failures.push(`${event.fixture}: ${event.describe}: ${event.verdict.problem}`);
      } else if (event.type === 'done') {
        clearTimeout(timer);
        void worker.terminate().then(() => resolve({ mutants, outcomes, failures }));
      } else {
        clearTimeout(timer);
        void worker.terminate();
        reject(new Error(`the fuzzer itself failed: ${event.error}`));
      }
    });
    worker.on('error', (error) => {
      clearTimeout(timer);
      const mutant = current ? `${current.fixture}: ${current.describe}` : 'before the first mutant';
      reject(new Error(`the fuzzer's thread died at ${mutant}: ${error.stack ?? String(error)}`));
    });
  });
}
