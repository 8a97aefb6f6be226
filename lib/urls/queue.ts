/**
 * The one grammar of queue URLs (the `queueUrl` setting, --queue), used by the settings loader, the queue module,
 * the stack's validation and its KEDA scaler. Pure: no I/O, no SDKs.
 *
 *   fq://./rel/dir, fq://rel/dir, fq:///abs/dir, fq://~/dir        → a file queue (python-task-queue's format)
 *   sqs://NAME                                                      → an SQS queue, looked up by name
 *   https://sqs.REGION.amazonaws.com/ACCOUNT/NAME                   → an SQS queue URL
 *   https://REGION.queue.amazonaws.com/ACCOUNT/NAME                 → the legacy SQS host, accepted as well
 *   http(s)://HOST[:PORT]/ACCOUNT/NAME                              → an SQS-compatible endpoint (tests, LocalStack)
 *   pubsub://projects/P/topics/T/subscriptions/S                    → Pub/Sub (python-task-queue's form)
 *   pubsub://P/NAME                                                 → Pub/Sub: topic NAME and subscription NAME
 *                                                                     in project P
 *
 * Decided once for everyone: FIFO queues (`NAME.fifo`) are refused, because a FIFO queue delivers
 * a message group's tasks one at a time and caps throughput, the opposite of what a batch of
 * independent tasks needs; the legacy host is accepted, since SQS still serves it.
 */
import os from 'node:os';
import path from 'node:path';
import { QueueError } from '../queue/errors';
import { settingRef } from '../settings/table';

export type QueueLocation =
  | { readonly kind: 'fq'; readonly root: string }
  | {
      readonly kind: 'sqs';
      readonly name: string;
      /** The queue's URL, normalised (no trailing slash); absent for `sqs://NAME`. */
      readonly queueUrl?: string;
      /** The region named by an AWS host. */
      readonly region?: string;
      /** The 12-digit account id of an AWS queue URL. */
      readonly accountId?: string;
    }
  | {
      readonly kind: 'pubsub';
      readonly project: string;
      /** Topic id (the short name), where tasks are published. */
      readonly topic: string;
      /** Subscription id, where workers pull. */
      readonly subscription: string;
      /** `pubsub://projects/P/topics/T/subscriptions/S`, the normalised form. */
      readonly url: string;
    };

export const QUEUE_URL_FORMS =
  'fq://./DIR (relative), fq:///ABS/DIR, sqs://NAME, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, ' +
  'pubsub://PROJECT/NAME or pubsub://projects/PROJECT/topics/TOPIC/subscriptions/SUBSCRIPTION';

/** SQS queue names: 1–80 letters, digits, `-` and `_`. */
const SQS_NAME = /^[A-Za-z0-9_-]{1,80}$/;

/** `sqs.REGION.amazonaws.com[.cn]` or the legacy `REGION.queue.amazonaws.com[.cn]`. */
const AWS_SQS_HOST = /^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$/;

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

export function parseQueueUrl(url: string): QueueLocation {
  const text = url.trim();
  if (text.startsWith('fq://')) {
    const rest = text.slice('fq://'.length);
    if (rest === '') throw invalid(url, 'names no directory');
    if (rest.includes('\0')) throw invalid(url, 'contains a NUL character');
    return { kind: 'fq', root: path.resolve(expandHome(rest)) };
  }
  if (text.startsWith('sqs://')) {
    const name = text.slice('sqs://'.length).replace(/\/+$/, '');
    checkSqsName(url, name);
    return { kind: 'sqs', name };
  }
  if (text.startsWith('pubsub://')) return parsePubsubUrl(url, text.slice('pubsub://'.length).replace(/\/+$/, ''));
  if (/^https?:\/\//i.test(text)) return parseSqsHttpUrl(url, text);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw invalid(url, `is a bare path, not a queue URL: write fq://${text.startsWith('/') ? text : `./${text}`}`);
  }
  throw invalid(url, 'has an unknown scheme');
}

function parseSqsHttpUrl(url: string, text: string): QueueLocation {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw invalid(url, 'is not a valid URL');
  }
  const parts = parsed.pathname.split('/').filter(Boolean);
  const aws = AWS_SQS_HOST.exec(parsed.hostname);
  if (parts.length !== 2 || parsed.search !== '' || parsed.hash !== '') {
    throw invalid(url, 'is not an SQS queue URL (expected https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)');
  }
  const [accountId, name] = parts as [string, string];
  checkSqsName(url, name);
  if (aws) {
    if (parsed.protocol !== 'https:') throw invalid(url, 'uses http://; SQS queue URLs are https://');
    if (!/^\d{12}$/.test(accountId)) throw invalid(url, `has "${accountId}" where the 12-digit AWS account id goes`);
  }
  return {
    kind: 'sqs',
    name,
    queueUrl: `${parsed.origin}/${accountId}/${name}`,
    ...(aws ? { region: aws[1] ?? aws[2], accountId } : {}),
  };
}

/**
 * Google Cloud project ids: 6–30 lowercase letters, digits and `-`, starting with a letter (or the
 * legacy domain-scoped `example.com:id`).
 */
const GCP_PROJECT = /^(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/**
 * Pub/Sub topic and subscription ids: 3–255 characters, starting with a letter, of letters,
 * digits and `-_.~+%`, not starting with `goog`. Ours stay 5 shorter, so `<id>-dead` fits.
 */
const PUBSUB_ID = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,249}$/;

function parsePubsubUrl(url: string, rest: string): QueueLocation {
  const parts = rest.split('/');
  let project: string, topic: string, subscription: string;
  if (parts.length === 2) {
    [project, topic] = parts as [string, string];
    subscription = topic;
  } else if (parts.length === 6 && parts[0] === 'projects' && parts[2] === 'topics' && parts[4] === 'subscriptions') {
    [, project, , topic, , subscription] = parts as [string, string, string, string, string, string];
  } else {
    throw invalid(
      url,
      'is not a Pub/Sub queue URL (expected pubsub://PROJECT/NAME or ' +
        'pubsub://projects/PROJECT/topics/TOPIC/subscriptions/SUBSCRIPTION)',
    );
  }
  if (!GCP_PROJECT.test(project)) {
    throw invalid(url, `has "${project}" where the Google Cloud project id goes (6–30 lowercase letters, digits, -)`);
  }
  for (const [what, id] of [
    ['topic', topic],
    ['subscription', subscription],
  ] as const) {
    if (!PUBSUB_ID.test(id) || id.toLowerCase().startsWith('goog')) {
      throw invalid(
        url,
        `has "${id}" as its ${what} id: Pub/Sub ids are 3–250 letters, digits and -_.~+%, start with a ` +
          `letter and not with "goog"`,
      );
    }
  }
  return {
    kind: 'pubsub',
    project,
    topic,
    subscription,
    url: `pubsub://projects/${project}/topics/${topic}/subscriptions/${subscription}`,
  };
}

function checkSqsName(url: string, name: string): void {
  if (name.endsWith('.fifo')) {
    throw new QueueError(
      'InvalidQueueUrl',
      `queue URL ${JSON.stringify(url)} names a FIFO queue: FIFO queues hand out one message group's ` +
        `tasks one at a time and cap throughput, so they are not supported`,
      'create a standard queue (npm run queue:create -- --queue sqs://NAME) and use its URL',
    );
  }
  if (!SQS_NAME.test(name)) throw invalid(url, 'is not a valid SQS queue name (1–80 letters, digits, - or _)');
}

function invalid(url: string, why: string): QueueError {
  return new QueueError(
    'InvalidQueueUrl',
    `queue URL ${JSON.stringify(url)} ${why}`,
    `use ${QUEUE_URL_FORMS} (${settingRef('queueUrl')})`,
  );
}
