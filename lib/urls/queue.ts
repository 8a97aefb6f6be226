/**
 * The one grammar of queue URLs (TASKQUEUE_PATH), used by the settings loader, the queue module,
 * the stack's validation and its KEDA scaler. Pure: no I/O, no SDKs.
 *
 *   fq://./rel/dir, fq://rel/dir, fq:///abs/dir, fq://~/dir        → a file queue (python-task-queue's format)
 *   sqs://NAME                                                      → an SQS queue, looked up by name
 *   https://sqs.REGION.amazonaws.com/ACCOUNT/NAME                   → an SQS queue URL
 *   https://REGION.queue.amazonaws.com/ACCOUNT/NAME                 → the legacy SQS host, accepted as well
 *   http(s)://HOST[:PORT]/ACCOUNT/NAME                              → an SQS-compatible endpoint (tests, LocalStack)
 *
 * Decided once for everyone: FIFO queues (`NAME.fifo`) are refused, because a FIFO queue delivers
 * a message group's tasks one at a time and caps throughput, the opposite of what a batch of
 * independent tasks needs; the legacy host is accepted, since SQS still serves it.
 */
import os from 'node:os';
import path from 'node:path';
import { QueueError } from '../queue/errors';

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
    };

export const QUEUE_URL_FORMS =
  'fq://./DIR (relative), fq:///ABS/DIR, sqs://NAME or https://sqs.REGION.amazonaws.com/ACCOUNT/NAME';

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

function checkSqsName(url: string, name: string): void {
  if (name.endsWith('.fifo')) {
    throw new QueueError(
      'InvalidQueueUrl',
      `queue URL ${JSON.stringify(url)} names a FIFO queue: FIFO queues hand out one message group's tasks one at a time and cap throughput, so they are not supported`,
      'create a standard queue (npm run queue:create -- --queue sqs://NAME) and use its URL',
    );
  }
  if (!SQS_NAME.test(name)) throw invalid(url, 'is not a valid SQS queue name (1–80 letters, digits, - or _)');
}

function invalid(url: string, why: string): QueueError {
  return new QueueError(
    'InvalidQueueUrl',
    `queue URL ${JSON.stringify(url)} ${why}`,
    `use ${QUEUE_URL_FORMS} (TASKQUEUE_PATH or --queue)`,
  );
}
