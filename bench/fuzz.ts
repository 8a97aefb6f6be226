/**
 * `npm run bench -- fuzz [--runs 2000] [--seed 1]`: the fuzz test's mutation loop (test/params.fuzz.test.ts)
 * run longer, with other seeds. Prints the outcome counts and every failing mutant; exits 1 on any.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { integerBetween } from '../lib/cli/args';
import { buildFuzzFixtures } from '../test/support/fuzzFixtures';
import { runFuzz } from '../test/support/fuzzRunner';

const options = new Command('npm run bench -- fuzz')
  .option('--runs <count>', 'mutants per fixture', integerBetween(1), 2000)
  .option('--seed <number>', 'first seed of the PRNG', integerBetween(0), 1)
  .option('--timeout <ms>', 'a mutant taking longer is a hang', integerBetween(100), 10_000)
  .parse()
  .opts<{ runs: number; seed: number; timeout: number }>();

void (async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fuzz-bench-'));
  try {
    const fixtures = await buildFuzzFixtures(dir);
    const started = Date.now();
    const summary = await runFuzz(fixtures, {
      seed: options.seed,
      runs: options.runs,
      dir: path.join(dir, 'mutants'),
      timeoutMs: options.timeout,
    });
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `${summary.mutants} mutants of ${fixtures.length} fixtures in ${seconds.toFixed(1)} s (seed ` +
        `${options.seed}): ${JSON.stringify(summary.outcomes)}\n`,
    );
    for (const failure of summary.failures) process.stdout.write(`FAIL ${failure}\n`);
    process.exitCode = summary.failures.length > 0 ? 1 : 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();
