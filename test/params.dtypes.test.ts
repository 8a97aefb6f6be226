/**
 * The pandas dtype matrix against real pandas/pyarrow (issue #15): test/python/dtype_matrix.py
 * writes a column of every common dtype through to_feather (LZ4, ZSTD, uncompressed), to_parquet
 * (Snappy, ZSTD, gzip) and to_csv(index=False), with the values the documented mapping says a task
 * receives, computed in Python from the same DataFrame. For each file the keyword arguments our
 * inserter produces (a dry run of the real pipeline) must equal them value for value, or the column
 * is refused with a message that says how to convert it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadSettings } from '../lib/settings';
import { insertTable } from '../lib/insert';
import { UserError } from '../lib/errors';
import { defineTask } from '../lib/task';
import { useTempDir } from './support/arrow-tables';
import { findPandasPython } from './support/python';

/** Takes any JSON value (or null) in `v`, so the test sees exactly what the converter made. */
const anyValue = defineTask({
  key: ['tests.dtypes', 'any_value'],
  params: z.object({ v: z.json().nullable() }),
  run: () => undefined,
});

type Expected = { values: unknown[] } | { refused: true; index?: true };

describe('params: the pandas dtype matrix (real pandas and pyarrow)', function () {
  this.timeout(120_000);
  const tmp = useTempDir('dtypes-');
  let expected: Record<string, Expected> = {};

  before(function () {
    const { python, reason } = findPandasPython();
    if (!python) {
      if (process.env.CI) throw new Error(`CI must run the dtype matrix: ${reason}`);
      this.skip(); // reason: no Python with pandas here (see test/support/python.ts)
    }
    const made = spawnSync(python!, [path.join(__dirname, 'python', 'dtype_matrix.py'), tmp.dir], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    expected = JSON.parse(readFileSync(path.join(tmp.dir, 'expected.json'), 'utf8')) as Record<string, Expected>;
  });

  it('every dtype in every format: the documented values, or refused with how to convert', async () => {
    const names = Object.keys(expected).sort();
    assert.ok(names.length >= 100, `${names.length} files`);
    const problems: string[] = [];
    for (const name of names) {
      const want = expected[name]!;
      const settings = loadSettings({
        env: {},
        overrides: {
          TASK_PARAMETER_FILENAME: path.join(tmp.dir, name),
          TASKQUEUE_PATH: `fq://${tmp.dir}/q`,
          CF_CLOUDPATH: `file://${tmp.dir}/out`,
        },
      });
      try {
        const summary = await insertTable({ settings, task: anyValue, dryRun: true, showTasks: 100, progress: false });
        const got = (summary.firstTasks ?? []).map((kwargs) => kwargs['v']);
        if ('refused' in want) problems.push(`${name}: read as ${JSON.stringify(got)}, expected a refusal`);
        else if (JSON.stringify(got) !== JSON.stringify(want.values))
          problems.push(`${name}: ${JSON.stringify(got)} != expected ${JSON.stringify(want.values)}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!(error instanceof UserError)) problems.push(`${name}: threw ${message}`);
        else if (!('refused' in want)) problems.push(`${name}: refused: ${message}`);
        else if (
          want.index
            ? !/a pandas index: write the table after df = df\.reset_index\(drop=True\)/.test(message)
            : !/cast it in pandas before writing \(e\.g\. df\["v"\]/.test(message)
        )
          problems.push(`${name}: refused without saying how to convert: ${message}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
