/**
 * Publishing to Pub/Sub: the client library's batching publisher (up to 1,000 messages or 9 MB
 * per request, flushed every 10 ms), with flow control on our side (at most `concurrency` × 1,000
 * messages or 64 MiB outstanding), and every publish result checked: a message the service did not
 * take (after the library's retries) fails the insert, naming the task's position. Nothing is
 * dropped silently; messages published before a failure stay published.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import { QueueError } from './errors';
import { mapPubsubError } from './pubsubErrors';
import { byteLength, MAX_MESSAGE_BYTES, TASK_ID_ATTRIBUTE } from './pubsubMessages';
import { checkTaskId } from './taskId';
import type { InsertOptions, QueueMessage } from './types';

export const BATCH_MAX_MESSAGES = 1000;
const BATCH_MAX_BYTES = 9 * 1000 * 1000;
const BATCH_MAX_MILLISECONDS = 10;
const DEFAULT_CONCURRENCY = 16;
const MAX_OUTSTANDING_BYTES = 64 * 1024 * 1024;

/** The batching settings shared with the benchmark's bare loop. */
export const PUBLISH_BATCHING = {
  maxMessages: BATCH_MAX_MESSAGES,
  maxBytes: BATCH_MAX_BYTES,
  maxMilliseconds: BATCH_MAX_MILLISECONDS,
} as const;

export function batchingTopic(pubsub: PubSub, topicName: string): Topic {
  return pubsub.topic(topicName, { batching: PUBLISH_BATCHING });
}

/** Bytes Pub/Sub counts for a message: data plus attribute keys and values. */
function messageBytes(body: string, attributes: Record<string, string>): number {
  let bytes = byteLength(body);
  for (const [key, value] of Object.entries(attributes)) bytes += byteLength(key) + byteLength(value);
  return bytes;
}

export async function publishMessages(
  topic: Topic,
  queueUrl: string,
  messages: Iterable<QueueMessage> | AsyncIterable<QueueMessage>,
  options: InsertOptions,
): Promise<number> {
  if (options.delaySeconds) {
    throw new QueueError(
      'UnsupportedOperation',
      `cannot insert with a delay into ${queueUrl}: Pub/Sub has no delayed delivery`,
      'insert without delaySeconds; a worker delays a retry itself by setting the ack deadline',
    );
  }
  const maxOutstanding = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY) * BATCH_MAX_MESSAGES;
  let outstanding = 0;
  let outstandingBytes = 0;
  let stored = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const inFlight = new Set<Promise<void>>();
  let index = 0;

  for await (const message of messages) {
    if (failure) break;
    const position = ++index;
    try {
      checkTaskId(message.id, position, queueUrl);
    } catch (error) {
      failure = error;
      break;
    }
    const attributes = { [TASK_ID_ATTRIBUTE]: message.id };
    const bytes = messageBytes(message.body, attributes);
    if (bytes > MAX_MESSAGE_BYTES) {
      failure = new QueueError(
        'MessageTooLarge',
        `task #${position} is ${bytes} bytes with its id attribute; Pub/Sub takes at most ${MAX_MESSAGE_BYTES} bytes ` +
          `per message`,
        'keep task parameters small: store large inputs in object storage and pass their paths',
      );
      break;
    }
    if (outstanding >= maxOutstanding || outstandingBytes + bytes > MAX_OUTSTANDING_BYTES) {
      // Full: wait until half the window is free, so the publisher keeps sending whole batches
      // (refilling one slot at a time would send batches of a few messages).
      while (
        !failure &&
        outstanding > 0 &&
        (outstanding > maxOutstanding / 2 || outstandingBytes + bytes > MAX_OUTSTANDING_BYTES / 2)
      ) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    }
    if (failure) break;
    outstanding++;
    outstandingBytes += bytes;
    const publishing: Promise<void> = topic
      .publishMessage({ data: Buffer.from(message.body, 'utf8'), attributes })
      .then(
        () => {
          stored++;
          options.onProgress?.(1);
        },
        (error: unknown) => {
          failure ??= mapPubsubError(error, {
            action: `publish task #${position} to`,
            queue: queueUrl,
            resource: `Pub/Sub topic ${topic.name}`,
          });
        },
      )
      .finally(() => {
        outstanding--;
        outstandingBytes -= bytes;
        inFlight.delete(publishing);
        wake?.();
        wake = undefined;
      });
    inFlight.add(publishing);
  }
  await topic.flush().catch(() => undefined); // each message's own promise reports its failure
  await Promise.all(inFlight);
  if (failure) throw failure;
  return stored;
}
