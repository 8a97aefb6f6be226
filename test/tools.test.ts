/**
 * The test-only tools from scripts/test-tools.sh really work: the Python venv (python-task-queue,
 * pandas, pyarrow), Google's GCS and Pub/Sub fakes, and the latency proxy. Each suite skips with
 * the install command locally when its tool is missing, and fails under CI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openTable, type TableRow } from '../lib/params/readTable';
import { requireToolOrSkip, runPython } from './support/tools';

describe('test tools: the Python venv', function () {
  this.timeout(120_000);
  let dir: string;

  before(function () {
    requireToolOrSkip(this, 'python');
    dir = mkdtempSync(path.join(os.tmpdir(), 'gke-batch-tools-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('imports the pinned python-task-queue, pandas and pyarrow', async () => {
    const out = await runPython(
      'import importlib.metadata as m, taskqueue, pandas, pyarrow; print(m.version("task-queue"), pandas.__version__, pyarrow.__version__)',
    );
    assert.deepEqual(out.trim().split(' '), ['2.14.3', '3.1.1', '26.0.1']);
  });

  it('writes a Feather file with pandas that lib/params reads back value for value', async () => {
    const file = path.join(dir, 'pandas.feather');
    await runPython(
      [
        'import sys, pandas as pd',
        'df = pd.DataFrame({"start": [0, 1000, 2**40], "label": ["a", None, "ü"], "ratio": [0.5, -1.25, 3.0], "ok": [True, False, True]})',
        'df.to_feather(sys.argv[1])',
      ].join('\n'),
      [file],
    );
    const table = await openTable(file);
    const rows: TableRow[] = [];
    for await (const chunk of table.rows()) rows.push(...chunk);
    assert.equal(table.format, 'arrow-file');
    assert.deepEqual(
      rows.map((row) => row.values),
      [
        { start: 0, label: 'a', ratio: 0.5, ok: true },
        { start: 1000, label: null, ratio: -1.25, ok: false },
        { start: 2 ** 40, label: 'ü', ratio: 3, ok: true },
      ],
    );
  });
});
