/**
 * The queue module: open any queue from its URL. See docs/queue.md for the URL forms, the
 * on-disk layout of the file queue and what each backend can and cannot tell.
 */
import { FileQueue } from './fileQueue';
import { createSqsQueue } from './sqsAdmin';
import { openSqsQueue } from './sqsQueue';
import type { CreateQueueOptions, Queue } from './types';
import { parseQueueUrl } from '../urls/queue';

export * from './types';
export { QueueError, TaskMessageError } from './errors';
export type { QueueErrorCode, TaskMessageErrorReason } from './errors';
export { parseQueueUrl } from '../urls/queue';
export type { QueueLocation } from '../urls/queue';

/** Opens a queue; does not create it (file queues are created on first insert, like python-task-queue). */
export async function openQueue(url: string): Promise<Queue> {
  const location = parseQueueUrl(url);
  if (location.kind === 'fq') return new FileQueue(location.root);
  return openSqsQueue(location);
}

/**
 * Creates the queue idempotently and returns the URL to put in TASKQUEUE_PATH: the fq layout, or
 * the SQS queue with its dead-letter queue `<name>-dead` and a redrive policy.
 */
export async function createQueue(url: string, options: CreateQueueOptions = {}): Promise<string> {
  const location = parseQueueUrl(url);
  if (location.kind === 'fq') {
    const queue = new FileQueue(location.root);
    queue.create();
    return queue.url;
  }
  return createSqsQueue(location, options);
}
