/**
 * The Python with pandas and pyarrow the dtype-matrix test runs: `GKE_BATCH_PYTHON`, else the
 * scratch virtual environment made outside the tree. A tiny adapter, to switch to the tools
 * helper's `findTool('python')` / `requireToolOrSkip` once test/support/tools.ts is on main.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SCRATCH = '/root/.cache/gke-batch/scratch-venv-params/bin/python';

/** The interpreter, or `undefined` with the reason when none with pandas + pyarrow is installed. */
export function findPandasPython(): { python?: string; reason?: string } {
  const python = process.env.GKE_BATCH_PYTHON ?? SCRATCH;
  if (!existsSync(python))
    return {
      reason: `no Python at ${python}: python3 -m venv DIR && DIR/bin/pip install pandas==3.1.1 pyarrow==26.0.1, then GKE_BATCH_PYTHON=DIR/bin/python`,
    };
  const probe = spawnSync(python, ['-c', 'import pandas, pyarrow'], { encoding: 'utf8' });
  if (probe.status !== 0) return { reason: `${python} cannot import pandas and pyarrow: ${probe.stderr.trim()}` };
  return { python };
}
