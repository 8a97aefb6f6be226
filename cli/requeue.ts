/**
 * `npm run requeue`: moves dead-lettered tasks back to the queue (all, those matching `--error`
 * / `--run`, or `--id ID ...`), e.g. after fixing the bug that failed them. It says which code
 * they failed on and whether the workers running now have the code built here: requeued tasks
 * run on whatever the workers run, so a fix needs the workers restarted.
 */
import { Command, Option } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { UserError } from '../lib/errors';
import { collect } from '../lib/cli/args';
import { describeDeadLetter, type FailureRow } from '../lib/ops/failures';
import { matchesFilter, parseErrorPattern } from '../lib/ops/failureGroups';
import { versionNotes } from '../lib/ops/requeueNotes';
import { withQueue } from '../lib/ops/session';
import { formatCount } from '../lib/ops/units';
import { codeVersion } from '../lib/runs/codeVersion';
import { RunStore } from '../lib/runs/store';
import { readRuns } from '../lib/runs/summary';
import { recordRequeued } from '../lib/runs/requeued';

interface RequeueOptions extends CommonOptions {
  id: string[];
  error?: RegExp;
  run?: string;
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run requeue --')
    .description('Move dead-lettered tasks back to the queue: all, those matching --error / --run, or --id.')
    .addOption(
      new Option('--id <id>', 'requeue only this task id (repeat for several; ids from npm run failures)')
        .argParser(collect)
        .default([]),
    )
    .option('--error <regex>', 'only failures whose "REASON: message" matches (case-insensitive)', parseErrorPattern)
    .option('--run <id>', 'only tasks of this run')
    .option('--json', 'print one JSON object: {queue, requested, moved, codeVersion, failedOn, workers}'),
).parse();

runMain(async () => {
  const options = program.opts<RequeueOptions>();
  const settings = settingsFrom(options);
  const ids = [...new Set(options.id)];
  const filtered = options.error !== undefined || options.run !== undefined;
  return withQueue(settings.queueUrl, async (queue) => {
    const rows: FailureRow[] = [];
    for await (const letter of queue.listDeadLetters()) rows.push(describeDeadLetter(letter));
    if (ids.length > 0) {
      // Check every id first, so a typo moves nothing and names itself.
      const dead = new Set(rows.map((r) => r.id));
      const unknown = ids.filter((id) => !dead.has(id));
      if (unknown.length > 0) {
        throw new UserError(
          `not dead-lettered in ${queue.url}: ${unknown.join(', ')}\n` +
            '  fix: copy ids from `npm run failures`; nothing was requeued',
        );
      }
    }
    const chosen = rows.filter(
      (r) => (ids.length === 0 || ids.includes(r.id)) && matchesFilter(r, { error: options.error, run: options.run }),
    );
    const selective = ids.length > 0 || filtered;
    const moved =
      chosen.length === 0 ? 0 : await queue.requeueDeadLetters(selective ? chosen.map((r) => r.id) : undefined);
    const store = RunStore.open(queue.url, settings.cloudpath);
    if (moved > 0) await recordRequeued(store, chosen);
    const current = codeVersion();
    const workers = moved > 0 ? (await readRuns(store)).workers.map((w) => w.codeVersion) : [];
    if (options.json) {
      const requested =
        ids.length > 0 ? ids : filtered ? { error: options.error?.source ?? null, run: options.run ?? null } : 'all';
      const failedOn = [...new Set(chosen.map((r) => r.codeVersion).filter((v) => v !== null))];
      const report = { queue: queue.url, requested, moved, codeVersion: current, failedOn, workers };
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else if (moved === 0) {
      const what = filtered ? 'no dead-lettered task matches the filter' : 'no dead-lettered tasks';
      process.stdout.write(`Nothing to requeue: ${what} in ${queue.url}.\n`);
    } else {
      const lines = [
        `Requeued ${formatCount(moved)} ${moved === 1 ? 'task' : 'tasks'}: workers will run ` +
          `${moved === 1 ? 'it' : 'them'} again.`,
        ...versionNotes(chosen, current, workers),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return 0;
  });
});
