/**
 * `npm run params -- [FILE]`: what the inserter reads from a parameter table — the format, each
 * column's Arrow type and what a task receives, the row count and the first rows exactly as the
 * inserter converts them. A value that cannot be converted faithfully is an error, never printed.
 */
import { Command } from 'commander';
import { integerBetween } from '../lib/cli/args';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { UserError } from '../lib/errors';
import { findTask } from '../lib/insert';
import { inspectTable, type TableInspection } from '../lib/params/inspect';
import { csvKindsFor } from '../lib/params/validate';
import { tasks } from '../tasks';

interface ParamsCliOptions extends CommonOptions {
  rows: number;
  task?: string;
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run params --')
    .description('Show a parameter table as the inserter reads it: schema, row count and first rows.')
    .argument('[file]', 'the table (default: --params, else TASK_PARAMETER_FILENAME)')
    .option('--rows <count>', 'first rows to show', integerBetween(0), 10)
    .option('--task <module.name>', 'task whose schema types CSV columns (default: the first in tasks/index.ts)')
    .option('--json', 'print one JSON object: {file, format, rows, columns, firstRows}')
    .addHelpText('after', '\nRows are numbered from 0, as pandas shows them. Type mapping: docs/params.md.'),
).parse();

function pad(cells: string[][]): string[] {
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((row) => row[j]!.length)));
  return cells.map((row) => row.map((cell, j) => (j === row.length - 1 ? cell : cell.padEnd(widths[j]!))).join('  '));
}

function render(result: TableInspection): string {
  const lines = [
    `${result.file}: ${result.format}, ${result.rows.toLocaleString('en-US')} rows, ${result.columns.length} columns`,
    '',
  ];
  lines.push(
    ...pad([
      ['column', 'arrow type', 'task receives'],
      ...result.columns.map((c) => [c.name, c.arrowType, c.jsonType]),
    ]).map((l) => `  ${l}`),
  );
  if (result.firstRows.length > 0) {
    lines.push(
      '',
      `first ${result.firstRows.length} row${result.firstRows.length > 1 ? 's' : ''}, as the inserter converts them (numbered from 0, as pandas shows them):`,
    );
    const width = String(result.firstRows.at(-1)!.row).length;
    for (const { row, values } of result.firstRows)
      lines.push(`  ${String(row).padStart(width)}  ${JSON.stringify(values)}`);
  }
  return `${lines.join('\n')}\n`;
}

runMain(async () => {
  const options = program.opts<ParamsCliOptions>();
  const [file] = program.args;
  if (file !== undefined && options.params !== undefined && file !== options.params) {
    throw new UserError(`two tables named: ${file} and --params ${options.params}; name one`);
  }
  const settings = settingsFrom({ ...options, params: file ?? options.params });
  const result = await inspectTable(settings.paramsFile, {
    rows: options.rows,
    csvKinds: csvKindsFor(findTask(options.task, tasks)),
  });
  process.stdout.write(options.json ? `${JSON.stringify(result)}\n` : render(result));
  return 0;
});
