/**
 * `npm run example:params [-- --rows N] [--out FILE]`: writes the example task's parameter table
 * (start, count, label, sleep_ms) with apache-arrow, so no Python is needed to try the project.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runMain } from '../lib/cli/options';
import { DEFAULTS } from '../lib/config';
import { EXAMPLE_ROWS, writeExampleParams } from '../lib/params/exampleTable';

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return n;
}

const program = new Command('npm run example:params --')
  .description("Write the example task's parameter table (tasks/example.ts) as Feather V2.")
  .option('--rows <count>', 'rows to write', positiveInteger, EXAMPLE_ROWS)
  .option('--out <file>', 'where to write it', DEFAULTS.TASK_PARAMETER_FILENAME)
  .parse();

runMain(async () => {
  const { rows, out } = program.opts<{ rows: number; out: string }>();
  await writeExampleParams(out, rows);
  process.stdout.write(`wrote ${out}: ${rows.toLocaleString('en-US')} rows (start, count, label, sleep_ms); check it with npm run params -- ${out}\n`);
});
