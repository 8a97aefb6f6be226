/**
 * `npm run purge`: removes every task from the queue (and resets the file queue's counters).
 * Asks first on a terminal; `--yes` skips the question. Without a terminal and without `--yes`
 * it refuses, so a script or CI job never empties a queue by accident.
 */
import confirm from '@inquirer/confirm';
import { Command } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { UserError } from '../lib/errors';
import { withQueue } from '../lib/ops/session';
import { RunStore } from '../lib/runs/store';
import { formatCount } from '../lib/ops/units';

interface PurgeOptions extends CommonOptions {
  yes?: boolean;
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run purge --')
    .description('Remove every task from the queue (asks for confirmation; --yes to skip).')
    .option('-y, --yes', 'do not ask: purge right away (needed without a terminal)')
    .option('--json', 'print one JSON object: {queue, purged, removed, failed, approximate}'),
).parse();

runMain(async () => {
  const options = program.opts<PurgeOptions>();
  const settings = settingsFrom(options);
  if (!options.yes && !process.stdin.isTTY) {
    throw new UserError(
      `refusing to purge ${settings.queueUrl} without confirmation: stdin is not a terminal, so nobody can answer.\n` +
        '  fix: run it in a terminal to be asked, or add --yes (npm run purge -- --yes) if you mean it',
    );
  }
  return withQueue(settings.queueUrl, async (queue) => {
    // Pub/Sub cannot count what it is about to remove: say what goes instead of how many.
    const before = queue.kind === 'pubsub' ? undefined : await queue.counts();
    const approx = before?.approximate ? '~' : '';
    const what = before
      ? `${approx}${formatCount(before.enqueued)} enqueued tasks (${approx}${formatCount(before.leased)} ` +
        `of them leased)` +
        ` and ${approx}${formatCount(before.failed)} dead-lettered`
      : 'every task published before now, leased or not, and every dead letter (Pub/Sub cannot count them)';
    if (!options.yes) {
      const sure = await askYesNo(`Remove ${what} from ${queue.url}? This cannot be undone.`);
      if (!sure) {
        process.stderr.write('Purge cancelled: nothing was removed.\n');
        return 1;
      }
    }
    await queue.purge();
    // The runs' counts describe tasks that are gone now (docs/operations.md, "Where runs live").
    await RunStore.open(queue.url, settings.cloudpath).clear();
    if (options.json) {
      const result = {
        queue: queue.url,
        purged: true,
        removed: before?.enqueued ?? null,
        failed: before?.failed ?? null,
        approximate: before?.approximate ?? true,
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const later =
        queue.kind === 'sqs'
          ? ' SQS deletes them within 60 s and allows one purge per queue per 60 s.'
          : queue.kind === 'pubsub'
            ? ' (a seek to now on the subscription and the dead-letter subscription)'
            : '';
      process.stdout.write(`Purged ${queue.url}: removed ${what}.${later}\n`);
    }
    return 0;
  });
});

/** The terminal question; the prompt goes to stderr so stdout stays clean for the result. Ctrl-C means no. */
async function askYesNo(message: string): Promise<boolean> {
  try {
    return await confirm({ message, default: false }, { output: process.stderr });
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError') return false;
    throw error;
  }
}
