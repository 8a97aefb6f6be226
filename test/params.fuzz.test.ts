/**
 * Fuzzing the table readers (issue #20): every fixture — ours, Arrow C++'s and R's files — mutated
 * by bit flips, random bytes and truncations from a fixed seed. Each mutant must give a clear
 * `TableError`, the original values, or (only where no reader can tell) other values; never a
 * hang, a crash trace, U+FFFD, or other values under the same schema. A longer run:
 * `npm run bench -- fuzz --runs 5000`.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { buildFuzzFixtures } from './support/fuzzFixtures';
import { runFuzz } from './support/fuzzRunner';
import { useTempDir } from './support/arrow-tables';

const SEED = 20;
const RUNS_PER_FIXTURE = 150;

describe('params: fuzzed tables never hang, crash or change values', function () {
  this.timeout(180_000);
  const tmp = useTempDir('fuzz-');

  it(`${RUNS_PER_FIXTURE} mutants of every fixture: a clear error or the right values, each within 10 s`, async () => {
    const fixtures = await buildFuzzFixtures(tmp.dir);
    assert.ok(fixtures.length >= 10, `fixtures found: ${fixtures.map((f) => f.name).join(', ')}`);
    const summary = await runFuzz(fixtures, {
      seed: SEED,
      runs: RUNS_PER_FIXTURE,
      dir: path.join(tmp.dir, 'mutants'),
      timeoutMs: 10_000,
    });
    assert.deepEqual(
      summary.failures.slice(0, 10),
      [],
      `${summary.failures.length} of ${summary.mutants} mutants failed`,
    );
    assert.equal(summary.mutants, fixtures.length * RUNS_PER_FIXTURE);
    // the mutations do reach the checks: many mutants are refused, some change nothing
    assert.ok((summary.outcomes['error'] ?? 0) > summary.mutants / 4, JSON.stringify(summary.outcomes));
    assert.ok((summary.outcomes['same'] ?? 0) > 0, JSON.stringify(summary.outcomes));
  });
});
