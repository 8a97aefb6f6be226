/**
 * `status` on Pub/Sub: what the API can tell (the resources, the subscription's lease and
 * dead-letter policy, and the dead letters, counted by reading their subscription for at most
 * DEAD_LETTER_BUDGET_MS, "at least N" when that was not enough), labelled, and what it cannot:
 * Pub/Sub's API has no backlog count (Cloud Monitoring has one, 1–2 min behind).
 */
import type { PubsubQueue, PubsubQueueDescription } from '../queue/pubsubQueue';
import { alignColumns, formatCount } from './units';

export const PUBSUB_COUNTS_NOTE =
  "Pub/Sub's API cannot count a backlog: enqueued, leased, inserted and completed are unknown. " +
  'Cloud Monitoring can (pubsub.googleapis.com/subscription/num_undelivered_messages, 1–2 min behind; ' +
  'the subscription page in the console).';

/**
 * How long `status` goes on starting pulls to count the dead letters (docs/queue.md, "Status on the
 * other backends"): the read ends within this plus one empty pull's wait (500 ms), inside the 2 s a
 * look may take; a few batches of 1,000 fit before the closing empty pulls.
 */
export const DEAD_LETTER_BUDGET_MS = 500;

/** Dead letters counted by the caller: all of them, or as many as a time-bounded read found. */
export interface DeadLetterTally {
  readonly count: number;
  readonly isLowerBound: boolean;
}

/** The `--json` shape of `status` on Pub/Sub (docs/operations.md). */
export interface PubsubStatusReport {
  readonly queue: string;
  readonly kind: 'pubsub';
  readonly time: string;
  readonly topic: string;
  readonly subscription: string;
  readonly deadLetterTopic: string;
  readonly deadLetterSubscription: string;
  readonly leaseSeconds: number;
  readonly maxDeliveryAttempts: number | null;
  readonly retentionSeconds: number | null;
  /** Dead letters, counted by reading (and giving back) the dead-letter subscription. */
  readonly failed: number;
  /** True when the read ran out of time first: there are at least `failed` dead letters. */
  readonly failedIsLowerBound: boolean;
  readonly inserted: null;
  readonly enqueued: null;
  readonly leased: null;
  readonly completed: null;
  readonly note: string;
}

export async function pubsubStatusReport(
  queue: PubsubQueue,
  at: number,
  deadLetterBudgetMs = DEAD_LETTER_BUDGET_MS,
): Promise<PubsubStatusReport> {
  const description = await queue.describe();
  const dead = await queue.countDeadLetters(deadLetterBudgetMs);
  return buildPubsubStatusReport(queue.url, description, { count: dead.count, isLowerBound: !dead.complete }, at);
}

/** The report from a description and a count of dead letters made by the caller (the dashboard lists them anyway). */
export function buildPubsubStatusReport(
  url: string,
  description: PubsubQueueDescription,
  failed: DeadLetterTally,
  at: number,
): PubsubStatusReport {
  return {
    queue: url,
    kind: 'pubsub',
    time: new Date(at).toISOString(),
    topic: description.topic,
    subscription: description.subscription,
    deadLetterTopic: description.deadTopic,
    deadLetterSubscription: description.deadSubscription,
    leaseSeconds: description.ackDeadlineSeconds,
    maxDeliveryAttempts: description.maxDeliveryAttempts ?? null,
    retentionSeconds: description.retentionSeconds ?? null,
    failed: failed.count,
    failedIsLowerBound: failed.isLowerBound,
    inserted: null,
    enqueued: null,
    leased: null,
    completed: null,
    note: PUBSUB_COUNTS_NOTE,
  };
}

export function renderPubsubStatus(report: PubsubStatusReport): string[] {
  const days = report.retentionSeconds === null ? 'unknown' : `${Math.round(report.retentionSeconds / 86400)} days`;
  return [
    `${report.queue} (Pub/Sub)`,
    ...alignColumns(
      [
        ['topic', report.topic, ''],
        ['subscription', report.subscription, `lease (ack deadline) ${report.leaseSeconds} s, retention ${days}`],
        [
          'dead letters',
          report.deadLetterTopic,
          report.maxDeliveryAttempts === null
            ? 'no dead-letter policy: attempts are counted per worker process'
            : `Pub/Sub moves a task there after ${report.maxDeliveryAttempts} deliveries`,
        ],
        failedRow(report),
        ['enqueued', 'unknown', 'see below'],
        ['inserted', 'unknown', ''],
        ['completed', 'unknown', ''],
      ],
      ['left', 'left', 'left'],
    ),
    report.note,
  ];
}

function failedRow(report: PubsubStatusReport): [string, string, string] {
  if (report.failedIsLowerBound) {
    return ['failed', `at least ${formatCount(report.failed)}`, 'dead-lettered, not all counted: npm run failures'];
  }
  return [
    'failed',
    formatCount(report.failed),
    report.failed > 0 ? 'dead-lettered: npm run failures' : 'dead-lettered',
  ];
}
