/**
 * `npm run queue:create`: creates the queue named by --queue / TASKQUEUE_PATH, idempotently.
 * SQS: the queue, its `<name>-dead` dead-letter queue and the redrive policy
 * (maxReceiveCount = --max-attempts), lease = --lease; prints the URL for TASKQUEUE_PATH.
 * File queue: the directory layout (`queue/`, `movement/`, `insertions` = 0, ...).
 */
import { Command, Option } from 'commander';
import { addCommonOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { createQueue, parseQueueUrl } from '../lib/queue';
import { integerBetween } from '../lib/ops/session';

interface CreateOptions extends CommonOptions {
  maxAttempts?: number;
  json?: boolean;
}

const program = addCommonOptions(
  new Command('npm run queue:create --')
    .description('Create the queue (SQS: with a dead-letter queue and redrive policy; fq: the directory layout). Safe to run again.')
    .addOption(
      new Option('--max-attempts <n>', 'receives before SQS moves a task to the dead-letter queue (TQ_MAX_ATTEMPTS)').argParser(
        integerBetween(1, 1000),
      ),
    )
    .option('--json', 'print one JSON object: {queue, kind, deadLetterQueue, maxAttempts, leaseSeconds}'),
).parse();

runMain(async () => {
  const options = program.opts<CreateOptions>();
  const settings = settingsFrom(options, { TQ_MAX_ATTEMPTS: options.maxAttempts?.toString() });
  const { maxAttempts, leaseSeconds } = settings;
  const url = await createQueue(settings.queueUrl, { maxReceiveCount: maxAttempts, visibilityTimeoutSeconds: leaseSeconds });
  const kind = parseQueueUrl(url).kind;
  const report = {
    queue: url,
    kind,
    deadLetterQueue: kind === 'sqs' ? deadLetterQueueUrl(url) : null,
    maxAttempts: kind === 'sqs' ? maxAttempts : null,
    leaseSeconds: kind === 'sqs' ? leaseSeconds : null,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  }
  const lines =
    kind === 'sqs'
      ? [
          `queue:             ${url}`,
          `dead-letter queue: ${report.deadLetterQueue} (SQS moves a task there after ${maxAttempts} receives)`,
          `lease:             ${leaseSeconds} s default visibility timeout`,
        ]
      : [`file queue:        ${url}`];
  lines.push('', 'Use it: put this line in your env file (config/task.env, or the file you pass with -e):', `TASKQUEUE_PATH=${url}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
});

/** The queue module names the dead-letter queue `<name>-dead`, next to the queue (same account and region). */
function deadLetterQueueUrl(queueUrl: string): string {
  return `${queueUrl.replace(/\/+$/, '')}-dead`;
}
