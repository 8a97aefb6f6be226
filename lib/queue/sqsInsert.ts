/**
 * Inserting into SQS: `SendMessageBatch` (sent by sqsSendBatch.ts, without the SDK's command
 * pipeline), 10 entries per call and each batch under the queue's size limit; calls in flight
 * decided by an adaptive window (16 to 128, adaptiveWindow.ts) unless the caller fixes the
 * number; throttled or server-side entry failures retried with backoff; any other refused entry
 * an error naming the task's position. Memory is bounded by the window: the input is read only
 * while a call may start.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdaptiveWindow } from './adaptiveWindow';
import { RETRYABLE_ENTRY_CODES } from './classify';
import { QueueError } from './errors';
import { SECOND } from './sqsClient';
import { mapSqsError } from './sqsErrors';
import { byteLength, taskIdAttributeBytes, taskIdAttributes } from './sqsMessages';
import { BatchEntry, SqsBatchSender } from './sqsSendBatch';
import { checkTaskId } from './taskId';
import type { InsertOptions, QueueMessage } from './types';

const MAX_BATCH = 10;
export const MAX_DELAY_SECONDS = 15 * 60;
/** The adaptive window's start and its largest size (the client keeps more connections than that). */
const INITIAL_IN_FLIGHT = 16;
export const MAX_IN_FLIGHT = 128;
/** Retries of throttled / server-side entry failures in a batch reply. */
const ENTRY_RETRIES = 8;

interface Entry {
  readonly message: QueueMessage;
  /** 0-based position in the insert call, for messages. */
  readonly index: number;
  readonly bytes: number;
}

function backoffMs(attempt: number): number {
  return Math.min(5 * SECOND, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

function tooLarge(index: number, bytes: number, url: string, limit: number, detail = ''): QueueError {
  return new QueueError(
    'MessageTooLarge',
    `task #${index + 1} is ${bytes} bytes${detail}; the SQS queue ${url} takes at most ${limit} bytes per message`,
    'keep task parameters small: store large inputs in object storage and pass their paths',
  );
}

export async function sendMessages(
  client: SQSClient,
  url: string,
  region: string | undefined,
  messages: Iterable<QueueMessage> | AsyncIterable<QueueMessage>,
  limit: number,
  options: InsertOptions,
): Promise<number> {
  const delay = Math.ceil(options.delaySeconds ?? 0);
  if (delay < 0 || delay > MAX_DELAY_SECONDS) {
    throw new RangeError(`delaySeconds must be 0–${MAX_DELAY_SECONDS} on SQS, got ${options.delaySeconds}`);
  }
  // a number the caller gives is kept as it is (initial = max): the window then never moves
  const fixed = options.concurrency === undefined ? undefined : Math.max(1, Math.floor(options.concurrency));
  const window = new AdaptiveWindow(fixed ?? INITIAL_IN_FLIGHT, fixed ?? MAX_IN_FLIGHT);
  const sender = new SqsBatchSender(client, url);
  let inFlight = 0;
  // resolved when a call in flight ends: one waiter at a time (this loop), so no race over every call
  let callEnded: (() => void) | undefined;
  const nextCallEnd = () => new Promise<void>((resolve) => (callEnded = resolve));
  let stored = 0;
  let failure: unknown;
  let index = 0;
  let batch: Entry[] = [];
  let batchBytes = 0;

  const launch = () => {
    const entries = batch;
    batch = [];
    batchBytes = 0;
    inFlight++;
    void sendBatch(sender, url, region, entries, delay, limit, window)
      .then((count) => {
        stored += count;
        options.onProgress?.(count);
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => {
        inFlight--;
        callEnded?.();
        callEnded = undefined;
      });
  };

  /** Puts a message in the batch, sending the batch first when it is full; false when the insert must stop. */
  const add = (message: QueueMessage): boolean => {
    if (failure) return false;
    try {
      checkTaskId(message.id, index + 1, url);
    } catch (error) {
      failure = error;
      return false;
    }
    const bytes = byteLength(message.body) + taskIdAttributeBytes(message.id);
    if (bytes > limit) {
      failure = tooLarge(index, bytes, url, limit, ' with its id attribute');
      return false;
    }
    if (batch.length === MAX_BATCH || batchBytes + bytes > limit) launch();
    batch.push({ message, index: index++, bytes });
    batchBytes += bytes;
    return true;
  };

  // a plain loop over an array or other sync iterable: `for await` would add a promise per message
  if (Symbol.asyncIterator in messages) {
    for await (const message of messages) {
      if (!add(message)) break;
      while (inFlight >= window.size) await nextCallEnd();
    }
  } else {
    for (const message of messages) {
      if (!add(message)) break;
      while (inFlight >= window.size) await nextCallEnd();
    }
  }
  if (!failure && batch.length > 0) launch();
  while (inFlight > 0) await nextCallEnd();
  if (failure) throw failure;
  return stored;
}

/** Sends one batch, retrying entries that failed for throttling or server-side reasons. */
async function sendBatch(
  sender: SqsBatchSender,
  url: string,
  region: string | undefined,
  entries: Entry[],
  delay: number,
  limit: number,
  window: AdaptiveWindow,
): Promise<number> {
  let pending = entries;
  let sent = 0;
  for (let attempt = 0; ; attempt++) {
    const request: BatchEntry[] = pending.map((entry, i) => ({
      Id: String(i),
      MessageBody: entry.message.body,
      MessageAttributes: taskIdAttributes(entry.message.id),
      ...(delay > 0 ? { DelaySeconds: delay } : {}),
    }));
    let reply;
    const started = performance.now();
    try {
      reply = await sender.send(request);
    } catch (error) {
      throw mapSqsError(error, { action: 'send to', queue: url }, region);
    }
    // the SDK's own retries (throttling included) show as a slow answer
    window.answered(performance.now() - started);
    sent += reply.Successful?.length ?? 0;
    const retry: Entry[] = [];
    for (const failed of reply.Failed ?? []) {
      const entry = pending[Number(failed.Id)]!;
      const code = failed.Code ?? 'UnknownError';
      if (!failed.SenderFault || RETRYABLE_ENTRY_CODES.has(code)) {
        retry.push(entry);
        continue;
      }
      if (/too long|shorter than|too large|size/i.test(failed.Message ?? '')) {
        throw tooLarge(entry.index, entry.bytes, url, limit, ` and was refused (${failed.Message})`);
      }
      throw new QueueError(
        'InvalidMessage',
        `task #${entry.index + 1} was refused by ${url}: ${code}: ${failed.Message ?? 'no message'}`,
        'SQS takes only XML-safe characters in a message body (no NUL or other control characters but tab, LF, CR)',
      );
    }
    if (retry.length === 0) return sent;
    window.throttled();
    if (attempt >= ENTRY_RETRIES) {
      throw new QueueError(
        'BackendError',
        `${retry.length} task(s) were still refused by ${url} after ${ENTRY_RETRIES} retries (throttled or server ` +
          `errors)`,
        'retry the insert later; tasks already sent stay queued',
      );
    }
    pending = retry;
    await sleep(backoffMs(attempt));
  }
}
