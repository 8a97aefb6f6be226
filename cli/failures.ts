/**
 * `npm run failures`: what the workers gave up on, grouped by error (count, first and last time,
 * an example with its table row and the command that shows its logs); `--list` for one line per
 * task, `--full` for stacks, `--json` for scripts, `--error REGEX` and `--run ID` to narrow.
 */
import { Command } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { describeDeadLetter, renderFailures, type FailureRow } from '../lib/ops/failures';
import { groupFailures, matchesFilter, parseErrorPattern, renderGroups } from '../lib/ops/failureGroups';
import { withQueue } from '../lib/ops/session';
import { formatCount } from '../lib/ops/units';

interface FailuresOptions extends CommonOptions {
  full?: boolean;
  list?: boolean;
  json?: boolean;
  error?: RegExp;
  run?: string;
}

const program = addCommonOptions(
  new Command('npm run failures --')
    .description('Dead-lettered tasks grouped by error: count, first/last time, an example, its row and logs.')
    .option('--error <regex>', 'only failures whose "REASON: message" matches (case-insensitive)', parseErrorPattern)
    .option('--run <id>', 'only tasks of this run (ids from npm run status)')
    .option('--list', 'one line per task instead of one per error')
    .option('--full', 'one entry per task with every parameter, the worker and the whole stack')
    .option('--json', 'print one JSON object: {queue, count, groups: [...], failures: [...]}'),
).parse();

runMain(async () => {
  const options = program.opts<FailuresOptions>();
  const settings = settingsFrom(options);
  return withQueue(settings.queueUrl, async (queue) => {
    const filter = { error: options.error, run: options.run };
    const rows: FailureRow[] = [];
    for await (const dead of queue.listDeadLetters()) {
      const row = describeDeadLetter(dead);
      if (matchesFilter(row, filter)) rows.push(row);
    }
    const groups = groupFailures(rows);

    if (options.json) {
      const summary = groups.map(({ example, ...group }) => ({ ...group, example: example.id }));
      const report = { queue: queue.url, count: rows.length, groups: summary, failures: rows };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const narrowed = options.error || options.run ? ' matching the filter' : '';
    if (rows.length === 0) {
      process.stdout.write(`No failed tasks${narrowed}: nothing is dead-lettered in ${queue.url}.\n`);
      return 0;
    }
    const width = process.stdout.isTTY ? process.stdout.columns : undefined;
    const noun = rows.length === 1 ? 'task' : 'tasks';
    const kinds = groups.length === 1 ? '1 error' : `${formatCount(groups.length)} distinct errors`;
    const lines = [`${formatCount(rows.length)} dead-lettered ${noun}${narrowed} in ${queue.url}, ${kinds}:`, ''];
    if (options.list || options.full) {
      lines.push(...renderFailures(rows, { full: options.full, width }));
      if (!options.full) lines.push('', 'Stacks and full details: npm run failures -- --full');
    } else {
      lines.push(...renderGroups(groups, width), '', 'Each task: npm run failures -- --list (or --full for stacks)');
    }
    lines.push(
      'Narrow it: --error REGEX, --run ID.  Put them back after a fix: npm run requeue (same filters, or --id ID)',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
});
