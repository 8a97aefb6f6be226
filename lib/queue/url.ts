/** Queue URLs: `fq://./rel`, `fq:///abs`, `sqs://name`, or an SQS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`). */
import path from 'node:path';
import { QueueError } from './errors';
import { expandHome } from './fileQueueLayout';

export type QueueLocation =
  | { readonly kind: 'fq'; readonly root: string }
  | { readonly kind: 'sqs'; readonly name: string; readonly queueUrl?: string; readonly region?: string };

const URL_FORMS = 'fq://./DIR (relative), fq:///ABS/DIR, sqs://NAME or https://sqs.REGION.amazonaws.com/ACCOUNT/NAME';

/** SQS queue names: 1–80 characters of letters, digits, `-` and `_` (`.fifo` queues are not used here). */
const SQS_NAME = /^[A-Za-z0-9_-]{1,80}$/;

export function parseQueueUrl(url: string): QueueLocation {
  const text = url.trim();
  if (text.startsWith('fq://')) {
    const rest = text.slice('fq://'.length);
    if (rest === '') throw invalid(url, 'names no directory');
    return { kind: 'fq', root: path.resolve(expandHome(rest)) };
  }
  if (text.startsWith('sqs://')) {
    const name = text.slice('sqs://'.length).replace(/\/+$/, '');
    if (!SQS_NAME.test(name)) throw invalid(url, 'is not a valid SQS queue name (1–80 letters, digits, - or _)');
    return { kind: 'sqs', name };
  }
  if (/^https?:\/\//.test(text)) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw invalid(url, 'is not a valid URL');
    }
    const parts = parsed.pathname.split('/').filter(Boolean);
    if (parts.length !== 2 || !SQS_NAME.test(parts[1]!)) {
      throw invalid(url, 'is not an SQS queue URL (expected https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)');
    }
    const region = /^sqs[.-]([a-z0-9-]+)\./.exec(parsed.hostname)?.[1];
    return { kind: 'sqs', name: parts[1]!, queueUrl: `${parsed.origin}/${parts[0]}/${parts[1]}`, region };
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw invalid(url, `is a bare path, not a queue URL: write fq://${text.startsWith('/') ? text : `./${text}`}`);
  }
  throw invalid(url, 'has an unknown scheme');
}

function invalid(url: string, why: string): QueueError {
  return new QueueError(
    'InvalidQueueUrl',
    `queue URL ${JSON.stringify(url)} ${why}`,
    `use ${URL_FORMS} (TASKQUEUE_PATH or --queue)`,
  );
}
