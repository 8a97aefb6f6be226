/**
 * `npm run requeue`: moves dead-lettered tasks back to the queue (all, or `--id ID ...`),
 * e.g. after fixing the bug that failed them, and says how many moved.
 */
import { Command, Option } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { UserError } from '../lib/errors';
import { collect } from '../lib/cli/args';
import { withQueue } from '../lib/ops/session';
import { formatCount } from '../lib/ops/units';

interface RequeueOptions extends CommonOptions {
  id: string[];
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run requeue --')
    .description('Move dead-lettered tasks back to the queue: all of them, or those given with --id.')
    .addOption(
      new Option('--id <id>', 'requeue only this task id (repeat for several; ids from npm run failures)')
        .argParser(collect)
        .default([]),
    )
    .option('--json', 'print one JSON object: {queue, requested, moved}'),
).parse();

runMain(async () => {
  const options = program.opts<RequeueOptions>();
  const settings = settingsFrom(options);
  const ids = [...new Set(options.id)];
  return withQueue(settings.queueUrl, async (queue) => {
    if (ids.length > 0) {
      // Check every id first, so a typo moves nothing and names itself.
      const dead = new Set<string>();
      for await (const letter of queue.listDeadLetters()) dead.add(letter.id);
      const unknown = ids.filter((id) => !dead.has(id));
      if (unknown.length > 0) {
        throw new UserError(
          `not dead-lettered in ${queue.url}: ${unknown.join(', ')}\n` +
            '  fix: copy ids from `npm run failures`; nothing was requeued',
        );
      }
    }
    const moved = await queue.requeueDeadLetters(ids.length > 0 ? ids : undefined);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ queue: queue.url, requested: ids.length > 0 ? ids : 'all', moved })}\n`);
    } else if (moved === 0) {
      process.stdout.write(`Nothing to requeue: no dead-lettered tasks in ${queue.url}.\n`);
    } else {
      process.stdout.write(
        `Requeued ${formatCount(moved)} ${moved === 1 ? 'task' : 'tasks'}: workers will run ${moved === 1 ? 'it' : 'them'} again.\n`,
      );
    }
    return 0;
  });
});
