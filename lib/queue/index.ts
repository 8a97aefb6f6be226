/**
 * The queue module: open any queue from its URL. See docs/queue.md for the URL forms, the
 * on-disk layout of the file queue and what each backend can and cannot tell.
 */
import { FileQueue } from './fileQueue';
import type { CreateQueueOptions, Queue } from './types';
import { parseQueueUrl } from '../urls/queue';

export * from './types';
export { QueueError, TaskMessageError } from './errors';
export type { QueueErrorCode, TaskMessageErrorReason } from './errors';
export { parseQueueUrl } from '../urls/queue';
export type { QueueLocation } from '../urls/queue';

export interface OpenQueueOptions {
  /**
   * File queue: lease and delete on a thread of their own (lib/queue/fileQueueThread.ts). The
   * worker does: it takes a dozen system calls per task off its main thread. A caller making one
   * call at a time is faster without, as each call then waits for the other thread.
   */
  readonly fileQueueThread?: boolean;
}

/** Opens a queue; does not create it (file queues are created on first insert, like python-task-queue). */
export async function openQueue(url: string, options: OpenQueueOptions = {}): Promise<Queue> {
  const location = parseQueueUrl(url);
  if (location.kind === 'fq') return new FileQueue(location.root, undefined, { ownThread: options.fileQueueThread });
  if (location.kind === 'pubsub') {
    // Loaded on first use: the gRPC stack costs every other user start-up time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PubsubQueue } = require('./pubsubQueue') as typeof import('./pubsubQueue');
    return new PubsubQueue(location);
  }
  // Like Pub/Sub, loaded on first use: a worker on another backend never runs the AWS SDK's modules.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { openSqsQueue } = require('./sqsQueue') as typeof import('./sqsQueue');
  return openSqsQueue(location);
}

/**
 * Creates the queue idempotently and returns the URL to set as `queueUrl`: the fq layout, the
 * SQS queue with its dead-letter queue `<name>-dead` and a redrive policy, or the Pub/Sub topic and
 * subscription with the dead-letter topic `<topic>-dead`, its subscription and a dead-letter policy.
 */
export async function createQueue(url: string, options: CreateQueueOptions = {}): Promise<string> {
  const location = parseQueueUrl(url);
  if (location.kind === 'fq') {
    const queue = new FileQueue(location.root);
    queue.create();
    return queue.url;
  }
  if (location.kind === 'pubsub') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createPubsubQueue } = require('./pubsubAdmin') as typeof import('./pubsubAdmin');
    return (await createPubsubQueue(location, options)).url;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createSqsQueue } = require('./sqsAdmin') as typeof import('./sqsAdmin');
  return createSqsQueue(location, options);
}
