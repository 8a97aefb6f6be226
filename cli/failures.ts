/**
 * `npm run failures`: the dead-lettered tasks, with their parameters, attempts and the error's
 * first line (`--full`: every detail and the stack; `--json`: one object for scripts).
 */
import { Command } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { describeDeadLetter, renderFailures, type FailureRow } from '../lib/ops/failures';
import { withQueue } from '../lib/ops/session';
import { formatCount } from '../lib/ops/units';

interface FailuresOptions extends CommonOptions {
  full?: boolean;
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run failures --')
    .description('List dead-lettered tasks: id, task, parameters, attempts, error and when it failed.')
    .option('--full', 'show every parameter, the worker and the whole stack of each failure')
    .option('--json', 'print one JSON object: {queue, count, failures: [...]}'),
).parse();

runMain(async () => {
  const options = program.opts<FailuresOptions>();
  const settings = settingsFrom(options);
  return withQueue(settings.queueUrl, async (queue) => {
    const rows: FailureRow[] = [];
    for await (const dead of queue.listDeadLetters()) rows.push(describeDeadLetter(dead));

    if (options.json) {
      process.stdout.write(`${JSON.stringify({ queue: queue.url, count: rows.length, failures: rows }, null, 2)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write(`No failed tasks: nothing is dead-lettered in ${queue.url}.\n`);
      return 0;
    }
    const width = process.stdout.isTTY ? process.stdout.columns : undefined;
    const noun = rows.length === 1 ? 'task' : 'tasks';
    const lines = [`${formatCount(rows.length)} dead-lettered ${noun} in ${queue.url}:`, ''];
    lines.push(...renderFailures(rows, { full: options.full, width }));
    // With --full every task already ends with a blank line.
    if (!options.full) lines.push('', 'Stacks and full details: npm run failures -- --full');
    lines.push('Put them back after a fix: npm run requeue (all) or npm run requeue -- --id ID');
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
});
