/**
 * `npm run queue:create`: creates the queue named by the `queueUrl` setting (--queue), idempotently.
 * SQS: the queue, its `<name>-dead` dead-letter queue and the redrive policy, lease = --lease;
 * prints the URL for the `queueUrl` setting. File queue: the directory layout (`queue/`, `movement/`,
 * `insertions` = 0, ...). Nobody needs the AWS console for this.
 */
import { Command } from 'commander';
import { addCommonOptions, addSettingOptions, runMain, settingsFrom, type CommonOptions } from '../lib/cli/options';
import { createQueue, parseQueueUrl } from '../lib/queue';
import { envName } from '../lib/settings';

interface CreateOptions extends CommonOptions {
  json?: boolean;
}

/**
 * SQS's redrive is the backstop, one receive above the workers' limit: a worker dead-letters a
 * task itself, with its error, after `maxAttempts` failed attempts, and also when it is leased
 * once more than that because the workers running it kept dying. SQS moves it without any record
 * only if even that did not happen.
 */
function redriveReceiveCount(maxAttempts: number): number {
  return maxAttempts + 1;
}

const program = addSettingOptions(
  addCommonOptions(
    new Command('npm run queue:create --')
      .description(
        'Create the queue (SQS: with a dead-letter queue and redrive policy; fq: the directory layout). ' +
          'Safe to run again.',
      )
      .option(
        '--json',
        'print one JSON object: {queue, kind, deadLetterQueue, maxAttempts, maxReceiveCount, leaseSeconds}',
      ),
  ),
  ['maxAttempts'],
).parse();

runMain(async () => {
  const options = program.opts<CreateOptions>();
  const settings = settingsFrom(options);
  const { maxAttempts, leaseSeconds } = settings;
  const maxReceiveCount = redriveReceiveCount(maxAttempts);
  const url = await createQueue(settings.queueUrl, { maxReceiveCount, visibilityTimeoutSeconds: leaseSeconds });
  const kind = parseQueueUrl(url).kind;
  const sqs = kind === 'sqs';
  const cloud = kind !== 'fq';
  const report = {
    queue: url,
    kind,
    deadLetterQueue: sqs ? deadLetterQueueUrl(url) : kind === 'pubsub' ? pubsubDeadLetterUrl(url) : null,
    maxAttempts: cloud ? maxAttempts : null,
    maxReceiveCount: cloud ? maxReceiveCount : null,
    leaseSeconds: cloud ? leaseSeconds : null,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  }
  const lines = sqs
    ? [
        `queue:             ${url}`,
        `dead-letter queue: ${report.deadLetterQueue}`,
        `redrive policy:    workers dead-letter a task after ${maxAttempts} attempts; SQS moves it by ` +
          `itself after ${maxReceiveCount} receives`,
        `lease:             ${leaseSeconds} s (default visibility timeout)`,
      ]
    : kind === 'pubsub'
      ? [
          `queue:             ${url}`,
          `dead letters:      ${report.deadLetterQueue}`,
          `dead-letter policy: workers dead-letter a task after ${maxAttempts} attempts; Pub/Sub moves ` +
            `it by itself after ${maxReceiveCount} deliveries`,
          `lease:             ${leaseSeconds} s (the subscription's ack deadline; at most 600 s)`,
          'on Google Cloud:   the Pub/Sub service agent ' +
            '(service-PROJECT_NUMBER@gcp-sa-pubsub.iam.gserviceaccount.com) needs',
          '                   roles/pubsub.publisher on the dead-letter topic and ' +
            'roles/pubsub.subscriber on the subscription',
        ]
      : [`file queue:        ${url}`];
  lines.push(
    '',
    'Use it: put this line in your env file (config/task.env, or the file you pass with -e):',
    `${envName('queueUrl')}=${url}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
});

/** The dead-letter topic and subscription of a Pub/Sub queue: `<topic>-dead`, both. */
function pubsubDeadLetterUrl(queueUrl: string): string {
  const location = parseQueueUrl(queueUrl);
  if (location.kind !== 'pubsub') return queueUrl;
  const dead = `${location.topic}-dead`;
  return `pubsub://projects/${location.project}/topics/${dead}/subscriptions/${dead}`;
}

/** The queue module names the dead-letter queue `<name>-dead`, next to the queue (same account and region). */
function deadLetterQueueUrl(queueUrl: string): string {
  return `${queueUrl.replace(/\/+$/, '')}-dead`;
}
