/**
 * The bare client loops the queue benchmarks (bench/queue.ts, bench/insert-latency.ts) set beside
 * our queue module: the same calls, with nothing else around them.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PubSub } from '@google-cloud/pubsub';
import type { QueueMessage } from '../../lib/queue';
import { pubsubNames } from '../../lib/queue/pubsubClient';
import { parseQueueUrl } from '../../lib/urls/queue';

/** `concurrency` loops, each sending one SendMessageBatch of 10 after another, until all are sent. */
export async function sendSqsBatches(
  client: SQSClient,
  url: string,
  payloads: readonly QueueMessage[],
  concurrency: number,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < payloads.length) {
        const batch = payloads.slice(next, next + 10);
        next += 10;
        await client.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: batch.map(({ id, body }, i) => ({
              Id: String(i),
              MessageBody: body,
              MessageAttributes: { taskId: { DataType: 'String', StringValue: id } },
            })),
          }),
        );
      }
    }),
  );
}

/** A client for the project of a `pubsub://` URL, and the URL's topic and subscription names. */
export function openBarePubsub(url: string): { pubsub: PubSub; names: ReturnType<typeof pubsubNames> } {
  const location = parseQueueUrl(url);
  if (location.kind !== 'pubsub') throw new Error(`not a Pub/Sub URL: ${url}`);
  return { pubsub: new PubSub({ projectId: location.project }), names: pubsubNames(location) };
}
