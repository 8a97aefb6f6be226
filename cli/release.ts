/**
 * `npm run release`: makes every leased task available now (like `ptq release`), e.g. after
 * stopping workers that held long leases. File queue only: on SQS the queue module's
 * explanation is printed and the exit code is 1, since nothing was released.
 */
import { Command } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { withQueue } from '../lib/ops/session';
import { formatCount } from '../lib/ops/units';

interface ReleaseOptions extends CommonOptions {
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run release --')
    .description('Release every leased task so workers can lease it again now (file queue; SQS cannot).')
    .option('--json', 'print one JSON object: {queue, released}'),
).parse();

runMain(async () => {
  const options = program.opts<ReleaseOptions>();
  const settings = settingsFrom(options);
  return withQueue(settings.queueUrl, async (queue) => {
    const released = await queue.releaseAll();
    if (options.json) process.stdout.write(`${JSON.stringify({ queue: queue.url, released })}\n`);
    else if (released === 0) process.stdout.write(`Nothing to release: no task is leased in ${queue.url}.\n`);
    else
      process.stdout.write(
        `Released ${formatCount(released)} leased ${released === 1 ? 'task' : 'tasks'}: available to workers now.\n`,
      );
    return 0;
  });
});
