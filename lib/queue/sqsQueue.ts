/**
 * The SQS backend's Queue: leases are receives with a visibility timeout, dead letters go to the
 * queue's redrive target (`<name>-dead` when made by `createQueue`) with a `failure` attribute.
 * The client, administration, message mapping and batched inserts live in the sqs*.ts beside it.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  Message,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueError } from './errors';
import { SqsQueueAttributes } from './sqsAdmin';
import { makeSqsClient, resolveQueueUrl, SECOND, SqsLocation } from './sqsClient';
import { mapSqsError } from './sqsErrors';
import { sendMessages } from './sqsInsert';
import {
  deadLetterAttributes,
  FAILURE_ATTRIBUTE,
  MAX_VISIBILITY_SECONDS,
  TASK_ID_ATTRIBUTE,
  taskIdOf,
  toDeadLetter,
  toLeasedTask,
} from './sqsMessages';
import type {
  DeadLetter,
  FailureRecord,
  InsertOptions,
  LeasedTask,
  LeaseOptions,
  Queue,
  QueueCounts,
  QueueMessage,
} from './types';

/** SQS limits (see the SQS reference): receive batch, long poll. */
const MAX_BATCH = 10;
const MAX_WAIT_SECONDS = 20;
/** How long a `listDeadLetters` peek hides the messages it reads before they are restored. */
const PEEK_VISIBILITY_SECONDS = 300;

export async function openSqsQueue(location: SqsLocation): Promise<SqsQueue> {
  const client = makeSqsClient(location.region);
  try {
    const url = location.queueUrl ?? (await resolveQueueUrl(client, location.name));
    return new SqsQueue(client, url, location.region);
  } catch (error) {
    client.destroy();
    throw error;
  }
}

function isAbort(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'AbortError';
}

export class SqsQueue implements Queue {
  readonly kind = 'sqs' as const;
  private readonly attributes: SqsQueueAttributes;

  constructor(
    private readonly client: SQSClient,
    readonly url: string,
    private readonly region?: string,
  ) {
    this.attributes = new SqsQueueAttributes(client, url, region);
  }

  private async call<T>(action: string, queue: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw mapSqsError(error, { action, queue }, this.region);
    }
  }

  async insert(
    messages: Iterable<QueueMessage> | AsyncIterable<QueueMessage>,
    options: InsertOptions = {},
  ): Promise<number> {
    const limit = await this.attributes.messageLimit();
    return sendMessages(this.client, this.url, this.region, messages, limit, options);
  }

  async lease({ count, seconds, waitSeconds = 0, signal }: LeaseOptions): Promise<LeasedTask[]> {
    if (!(seconds > 0)) throw new RangeError(`lease seconds must be > 0, got ${seconds}`);
    const visibility = Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(seconds));
    const leased: LeasedTask[] = [];
    let wait = Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.floor(waitSeconds)));
    while (leased.length < count) {
      const want = Math.min(MAX_BATCH, count - leased.length);
      let messages: Message[];
      try {
        const receivedAt = Date.now();
        messages =
          (
            await this.client.send(
              new ReceiveMessageCommand({
                QueueUrl: this.url,
                MaxNumberOfMessages: want,
                VisibilityTimeout: visibility,
                WaitTimeSeconds: wait,
                MessageAttributeNames: [TASK_ID_ATTRIBUTE],
                MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'],
              }),
              { abortSignal: signal },
            )
          ).Messages ?? [];
        const datedAt = await this.redated(messages, receivedAt, visibility);
        messages.forEach((message, i) => leased.push(toLeasedTask(message, datedAt[i]!, visibility)));
      } catch (error) {
        if (isAbort(error) || signal?.aborted) return leased;
        throw mapSqsError(error, { action: 'receive from', queue: this.url }, this.region);
      }
      if (messages.length < want) break;
      wait = 0; // got a full batch: take what is there now, do not wait for more
    }
    return leased;
  }

  /**
   * When each message's visibility began, at the latest known: SQS starts it at some moment between
   * the receive's request and its answer, so it is dated from the request. After a long poll that
   * waited for a message, that date is up to 20 s early and a short lease looks lost on arrival;
   * so when the call took over a third of the visibility, the visibility is set again at once,
   * dated from that short call (a message it fails for keeps the request's date).
   */
  private async redated(messages: readonly Message[], receivedAt: number, visibility: number): Promise<number[]> {
    const dates = messages.map(() => receivedAt);
    if (messages.length === 0 || Date.now() - receivedAt <= (visibility * SECOND) / 3) return dates;
    const sentAt = Date.now();
    try {
      const reply = await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.url,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle,
            VisibilityTimeout: visibility,
          })),
        }),
      );
      for (const entry of reply.Successful ?? []) dates[Number(entry.Id)] = sentAt;
    } catch {
      // Unreachable just now: the request's date is still a safe one; the worker's renewals retry.
    }
    return dates;
  }

  async renew(task: LeasedTask, seconds: number): Promise<LeasedTask> {
    const now = Date.now();
    const ceiling = task.leaseCeilingAt ?? now + MAX_VISIBILITY_SECONDS * SECOND;
    // visibility counts from now; the ceiling is measured from the receive (with a margin for clock skew)
    const room = Math.floor((ceiling - now) / SECOND) - 5;
    if (room <= 0) {
      throw new QueueError(
        'LeaseLimitReached',
        `task ${task.id}: SQS cannot extend a lease past 12 hours after the receive`,
        'the task becomes visible again at the 12 h mark; split long tasks into shorter ones',
      );
    }
    const visibility = Math.min(Math.ceil(seconds), room);
    await this.changeVisibility(task, visibility, `renew the lease of task ${task.id} on`);
    return { ...task, leaseExpiresAt: now + visibility * SECOND };
  }

  async release(task: LeasedTask, delaySeconds = 0): Promise<void> {
    await this.changeVisibility(
      task,
      Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delaySeconds))),
      `release task ${task.id} to`,
    );
  }

  private async changeVisibility(task: LeasedTask, seconds: number, action: string): Promise<void> {
    await this.call(action, this.url, () =>
      this.client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.url,
          ReceiptHandle: task.handle,
          VisibilityTimeout: seconds,
        }),
      ),
    );
  }

  async delete(task: LeasedTask): Promise<void> {
    await this.call(`delete task ${task.id} from`, this.url, () =>
      this.client.send(new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: task.handle })),
    );
  }

  async deleteMany(tasks: readonly LeasedTask[]): Promise<Array<Error | undefined>> {
    const results: Array<Error | undefined> = [];
    for (let start = 0; start < tasks.length; start += MAX_BATCH) {
      const chunk = tasks.slice(start, start + MAX_BATCH);
      const reply = await this.call(`delete ${chunk.length} task(s) from`, this.url, () =>
        this.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.url,
            Entries: chunk.map((task, i) => ({ Id: String(i), ReceiptHandle: task.handle })),
          }),
        ),
      );
      const failed = new Map((reply.Failed ?? []).map((entry) => [Number(entry.Id), entry]));
      chunk.forEach((task, i) => {
        const entry = failed.get(i);
        if (!entry) return results.push(undefined);
        // An entry's failure is mapped like a whole call's: Code is the error name SQS would have thrown.
        const error = Object.assign(new Error(entry.Message ?? entry.Code ?? 'failed'), { name: entry.Code ?? '' });
        return results.push(
          mapSqsError(error, { action: `delete task ${task.id} from`, queue: this.url }, this.region),
        );
      });
    }
    return results;
  }

  async deadLetter(task: LeasedTask, failure: FailureRecord): Promise<void> {
    const deadUrl = await this.attributes.requireDeadLetterQueue();
    const limit = await this.attributes.messageLimit();
    await this.call('send to', deadUrl, () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: deadUrl,
          MessageBody: task.body,
          MessageAttributes: deadLetterAttributes(task.id, task.body, failure, limit),
        }),
      ),
    );
    await this.delete(task);
  }

  async *listDeadLetters(): AsyncIterable<DeadLetter> {
    const deadUrl = await this.attributes.deadLetterQueue();
    if (!deadUrl) return;
    const seen = new Set<string>();
    const peeked: string[] = [];
    try {
      for (;;) {
        const messages = await this.receiveDead(deadUrl, PEEK_VISIBILITY_SECONDS);
        const fresh = messages.filter((m) => m.MessageId && !seen.has(m.MessageId));
        if (fresh.length === 0) break;
        for (const message of fresh) {
          seen.add(message.MessageId!);
          peeked.push(message.ReceiptHandle!);
          yield toDeadLetter(message);
        }
      }
    } finally {
      // a peek: make what we read visible again at once
      await this.restoreVisibility(deadUrl, peeked);
    }
  }

  async requeueDeadLetters(ids?: readonly string[]): Promise<number> {
    const deadUrl = await this.attributes.deadLetterQueue();
    if (!deadUrl) return 0;
    const wanted = ids ? new Set(ids) : undefined;
    const skipped: string[] = [];
    let moved = 0;
    try {
      for (;;) {
        const messages = await this.receiveDead(deadUrl, 60);
        if (messages.length === 0) break;
        const move = messages.filter((m) => !wanted || wanted.has(taskIdOf(m)));
        skipped.push(...messages.filter((m) => !move.includes(m)).map((m) => m.ReceiptHandle!));
        if (move.length === 0) continue;
        await this.insert(move.map((m) => ({ id: taskIdOf(m), body: m.Body ?? '' })));
        const deleted = await this.call('delete from', deadUrl, () =>
          this.client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: deadUrl,
              Entries: move.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          ),
        );
        moved += move.length;
        if (deleted.Failed?.length) {
          const first = deleted.Failed[0]!;
          throw new QueueError(
            'BackendError',
            `requeued ${moved} task(s), but ${deleted.Failed.length} of them could not be removed from ${deadUrl} ` +
              `(${first.Code}: ${first.Message}); they will show up there again as duplicates`,
            'list them with `npm run failures` and delete the duplicates, or requeue again later',
          );
        }
      }
    } finally {
      await this.restoreVisibility(deadUrl, skipped);
    }
    return moved;
  }

  private async receiveDead(deadUrl: string, visibility: number): Promise<Message[]> {
    return this.call('receive from', deadUrl, async () => {
      const reply = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: deadUrl,
          MaxNumberOfMessages: MAX_BATCH,
          VisibilityTimeout: visibility,
          // long polling asks every SQS server, so an empty reply means "none left"
          WaitTimeSeconds: 1,
          MessageAttributeNames: [TASK_ID_ATTRIBUTE, FAILURE_ATTRIBUTE],
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      return reply.Messages ?? [];
    });
  }

  /** Best effort: an entry that fails here (e.g. its handle expired) becomes visible by itself anyway. */
  private async restoreVisibility(queueUrl: string, handles: readonly string[]): Promise<void> {
    for (let i = 0; i < handles.length; i += MAX_BATCH) {
      const entries = handles
        .slice(i, i + MAX_BATCH)
        .map((handle, j) => ({ Id: String(j), ReceiptHandle: handle, VisibilityTimeout: 0 }));
      await this.call('restore visibility in', queueUrl, () =>
        this.client.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries })),
      );
    }
  }

  async counts(): Promise<QueueCounts> {
    // Side by side: finding the dead-letter queue takes two calls, so at cloud latency status waits
    // for three round trips, not four.
    const [source, dead] = await Promise.all([
      this.attributes.approximateCounts(this.url),
      this.attributes
        .deadLetterQueue()
        .then((deadUrl) => (deadUrl ? this.attributes.approximateCounts(deadUrl) : undefined)),
    ]);
    return {
      enqueued: source.visible + source.notVisible + source.delayed,
      leased: source.notVisible,
      delayed: source.delayed,
      failed: dead ? dead.visible + dead.notVisible + dead.delayed : 0,
      approximate: true,
    };
  }

  async isEmpty(): Promise<boolean> {
    return (await this.counts()).enqueued === 0;
  }

  async releaseAll(): Promise<number> {
    throw new QueueError(
      'UnsupportedOperation',
      `cannot release all leases on SQS queue ${this.url}: SQS has no way to list the receipt handles of in-flight ` +
        `messages`,
      'leased tasks become visible again by themselves when their visibility timeout (the lease) runs out',
    );
  }

  async purge(): Promise<void> {
    const deadUrl = await this.attributes.deadLetterQueue();
    for (const url of deadUrl ? [this.url, deadUrl] : [this.url]) {
      await this.call('purge', url, () => this.client.send(new PurgeQueueCommand({ QueueUrl: url })));
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
