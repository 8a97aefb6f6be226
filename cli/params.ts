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
import { loadTasksModule } from '../lib/cli/tasksModule';
import { checkTableAgainstTask } from '../lib/params/checkTask';
import { envName } from '../lib/settings';

interface ParamsCliOptions extends CommonOptions {
  rows: number;
  task?: string;
  tasks?: string;
  json?: boolean;
  check: boolean;
}

const program = addCommonOptions(
  new Command('npm run params --')
    .description('Show a parameter table as the inserter reads it: schema, row count and first rows.')
    .argument('[file]', `the table (default: --params, else ${envName('paramsFile')})`)
    .option('--rows <count>', 'first rows to show', integerBetween(0), 10)
    .option('--task <module.name>', 'task to check the table against (default: the first in tasks/index.ts)')
    .option('--tasks <module>', 'module exporting `tasks` (default: tasks/index.ts)')
    .option('--no-check', 'only show the table; do not check it against the task')
    .option('--json', 'print one JSON object: {file, format, rows, columns, firstRows}')
    .addHelpText(
      'after',
      '\nRows are numbered from 0, as pandas shows them. Type mapping: docs/params.md.\n' +
        'Exit 1 when the task would refuse the table (the report is what npm run insert would print).',
    ),
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
      `first ${result.firstRows.length} row${result.firstRows.length > 1 ? 's' : ''}, as the inserter ` +
        `converts them (numbered from 0, as pandas shows them):`,
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
  const task = findTask(options.task, options.tasks ? loadTasksModule(options.tasks) : tasks);
  const result = await inspectTable(settings.paramsFile, { rows: options.rows, csvKinds: csvKindsFor(task) });
  const check = options.check ? await checkTableAgainstTask(settings.paramsFile, task, settings.cloudpath) : null;
  if (options.json) {
    process.stdout.write(`${JSON.stringify(check ? { ...result, check } : result)}\n`);
  } else {
    process.stdout.write(render(result));
    if (check?.ok) {
      process.stdout.write(
        `\nchecked against task ${check.task}: all ${check.rows.toLocaleString('en-US')} rows pass\n`,
      );
    } else if (check) {
      process.stdout.write(`\nchecked against task ${check.task}: npm run insert would refuse this table:\n`);
      process.stdout.write(`${check.problems}\n`);
    }
  }
  return check && !check.ok ? 1 : 0;
});
