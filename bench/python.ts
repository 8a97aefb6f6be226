/**
 * The Python the benchmarks use to write tables with pandas: the venv of scripts/test-tools.sh
 * (test/python/requirements.txt pins pandas and pyarrow).
 */
import { findTool } from '../test/support/tools';

export function pythonWithPandas(): string {
  return findTool('python');
}
