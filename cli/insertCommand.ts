/**
 * `npm run insert`: one task per row of the parameter table, checked against the task's parameter
 * schema before anything is inserted. See docs/params.md. Started by cli/insert.ts, which adds
 * the Node flags the insert runs with.
 */
import { Command } from 'commander';
import { integerBetween } from '../lib/cli/args';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { findTask, insertTable, type InsertSummary } from '../lib/insert';
import { tasks } from '../tasks';
import { loadTasksModule } from '../lib/cli/tasksModule';
import { envName } from '../lib/settings';

interface InsertCliOptions extends CommonOptions {
  task?: string;
  dryRun?: boolean;
  show: number;
  json?: boolean;
  concurrency?: number;
  limit?: number;
  again?: boolean;
  tasks?: string;
}

const program = addCommonOptions(
  new Command('npm run insert --')
    .description(
      `Insert one task per row of the parameter table (${envName('paramsFile')}) into the queue ` +
        `(${envName('queueUrl')}).`,
    )
    .option('--task <module.name>', 'the task to insert (default: the first in tasks/index.ts)')
    .option('--tasks <module>', 'module exporting `tasks` (default: tasks/index.ts)')
    .option('-n, --dry-run', 'check and filter the table and show the first tasks; do not touch the queue')
    .option('--show <count>', 'tasks a dry run prints', integerBetween(1), 5)
    .option('--concurrency <count>', "insert calls in flight (default: the queue backend's)", integerBetween(1))
    .option('--limit <rows>', 'check and insert only the first N rows (a smoke test)', integerBetween(1))
    .option('--again', "insert even if this table's run still has tasks on the queue")
    .option('--json', 'print the summary as one JSON object')
    .addHelpText(
      'after',
      '\nEvery row is checked before anything is inserted; a failing table prints one report and inserts nothing.\n' +
        "Rows whose work is done are skipped by the task's filterTasks. Formats, type mapping: docs/params.md.",
    ),
).parse();

function render(summary: InsertSummary): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const lines: string[] = [];
  if (summary.alreadyQueued) {
    return (
      `nothing inserted: this table is already on ${summary.queue}\n  ${summary.alreadyQueued.description}\n` +
      '  follow it with `npm run status`; insert it a second time anyway with --again\n'
    );
  }
  if (summary.dryRun) {
    lines.push(
      `dry run: ${n(summary.read)} rows checked, ${n(summary.skipped)} skipped by filterTasks, ` +
        `${n(summary.inserted)} tasks would be inserted into ${summary.queue} (task ${summary.task}); ` +
        `nothing was inserted`,
    );
    if (summary.firstTasks && summary.firstTasks.length > 0) {
      lines.push(
        `first ${summary.firstTasks.length} task${summary.firstTasks.length > 1 ? 's' : ''} (keyword arguments):`,
      );
      for (const kwargs of summary.firstTasks) lines.push(`  ${JSON.stringify(kwargs)}`);
    }
  } else {
    const run = summary.run ? ` as run ${summary.run.id}` : '';
    lines.push(`inserted ${n(summary.inserted)} tasks of ${summary.task} into ${summary.queue}${run}`);
    lines.push(
      `  read ${n(summary.read)} rows, skipped ${n(summary.skipped)} (work already done), ` +
        `inserted ${n(summary.inserted)} in ${summary.seconds.toFixed(1)} s ` +
        `(${n(Math.round(summary.tasksPerSecond))} tasks/s)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

runMain(async () => {
  const options = program.opts<InsertCliOptions>();
  const settings = settingsFrom(options);
  const summary = await insertTable({
    settings,
    task: findTask(options.task, options.tasks ? loadTasksModule(options.tasks) : tasks),
    dryRun: options.dryRun,
    showTasks: options.show,
    concurrency: options.concurrency,
    limit: options.limit,
    again: options.again,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : render(summary));
  return 0;
});
