/**
 * The Python the benchmarks use to write tables with pandas: `GKE_BATCH_PYTHON`, else the scratch
 * virtual environment (pandas + pyarrow) made outside the tree. One place to switch to the tools
 * helper's `findTool('python')` once test/support/tools.ts exists.
 */
import { existsSync } from 'node:fs';

const SCRATCH = '/root/.cache/gke-batch/scratch-venv-params/bin/python';

export function pythonWithPandas(): string {
  const python = process.env.GKE_BATCH_PYTHON ?? SCRATCH;
  if (!existsSync(python))
    throw new Error(
      `no Python with pandas at ${python}: python3 -m venv DIR && DIR/bin/pip install pandas pyarrow, then GKE_BATCH_PYTHON=DIR/bin/python`,
    );
  return python;
}
