/**
 * `npm run example:params [-- --rows N] [--out FILE]`: writes the example task's parameter table
 * (start, count, label, sleep_ms) with apache-arrow, so no Python is needed to try the project.
 */
import { Command } from 'commander';
import { integerBetween } from '../lib/cli/args';
import { runMain } from '../lib/cli/options';
import { SETTINGS } from '../lib/settings';
import { EXAMPLE_ROWS, writeExampleParams } from '../lib/params/exampleTable';

const program = new Command('npm run example:params --')
  .description("Write the example task's parameter table (tasks/example.ts) as Feather V2.")
  .option('--rows <count>', 'rows to write', integerBetween(1), EXAMPLE_ROWS)
  .option('--out <file>', 'where to write it', SETTINGS.paramsFile.default)
  .parse();

runMain(async () => {
  const { rows, out } = program.opts<{ rows: number; out: string }>();
  await writeExampleParams(out, rows);
  process.stdout.write(
    `wrote ${out}: ${rows.toLocaleString('en-US')} rows (start, count, label, sleep_ms); check it with ` +
      `npm run params -- ${out}\n`,
  );
});
