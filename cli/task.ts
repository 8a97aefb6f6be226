/**
 * `npm run task -- --row N` (or `--params-json JSON`): runs one task in this process with the
 * real storage and no queue: the `f(**row)` of Python users. Debug it with
 * `node --inspect-brk --import tsx cli/task.ts --row N` (docs/worker.md, "Debugging one row").
 */
import { Command } from 'commander';
import pino from 'pino';
import pretty from 'pino-pretty';
import { integerBetween } from '../lib/cli/args';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { loadTasksModule } from '../lib/cli/tasksModule';
import { UserError } from '../lib/errors';
import { findTask } from '../lib/insert';
import { formatTaskKey } from '../lib/queue/message';
import { runOneTask, taskFromJson, taskFromRow } from '../lib/runOne';
import { tasks } from '../tasks';

interface TaskCliOptions extends CommonOptions {
  row?: number;
  paramsJson?: string;
  task?: string;
  tasks?: string;
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run task --')
    .description('Run one task in this process, with the real storage and no queue (for debugging).')
    .option(
      '--row <n>',
      'the row of the parameter table to run (numbered from 0, as npm run params shows)',
      integerBetween(0),
    )
    .option('--params-json <json>', 'the parameters as a JSON object instead of a table row')
    .option('--task <module.name>', 'the task to run (default: the first in tasks/index.ts)')
    .option('--tasks <module>', 'module exporting `tasks` (default: tasks/index.ts)')
    .option('--json', 'log JSON lines instead of pretty ones')
    .addHelpText(
      'after',
      '\nStep through it: node --inspect-brk --import tsx cli/task.ts --row 3 (then chrome://inspect or your editor).',
    ),
).parse();

runMain(async () => {
  const options = program.opts<TaskCliOptions>();
  if ((options.row === undefined) === (options.paramsJson === undefined)) {
    throw new UserError('name the task to run with exactly one of --row N and --params-json JSON');
  }
  const settings = settingsFrom(options);
  const task = findTask(options.task, options.tasks ? loadTasksModule(options.tasks) : tasks);
  const one =
    options.row !== undefined
      ? await taskFromRow(settings.paramsFile, options.row, task, settings.cloudpath)
      : taskFromJson(options.paramsJson!, task, settings.cloudpath);
  const name = formatTaskKey(task.key);
  const taskId = options.row !== undefined ? `row-${options.row}` : 'params-json';
  const stream = options.json ? pino.destination(2) : pretty({ destination: 2, colorize: process.stderr.isTTY });
  const log = pino({ base: { task: name, taskId } }, stream);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort(new Error('interrupted (Ctrl-C)')));
  log.info({ params: one.kwargs }, `running ${name} on ${one.source}`);
  const started = Date.now();
  try {
    await runOneTask(task, one, { log, signal: abort.signal, taskId });
  } catch (error) {
    // The whole error, stack included: this command is for finding out why a task fails.
    process.stderr.write(`task ${name} failed on ${one.source} after ${Date.now() - started} ms:\n`);
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
  process.stdout.write(
    `task ${name} succeeded on ${one.source} in ${Date.now() - started} ms (outputs: ${one.cloudpath})\n`,
  );
  return 0;
});
