/**
 * The SQS backend, through `@aws-sdk/client-sqs` with the SDK's normal credential chain and the
 * standard `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` variables. Dead letters go to the queue's
 * redrive target (`<name>-dead` when made by `createQueue`), each with a `failure` message attribute.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  Message,
  PurgeQueueCommand,
  QueueAttributeName,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageBatchRequestEntry,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueError } from './errors';
import { mapSqsError } from './sqsErrors';
import type {
  CreateQueueOptions,
  DeadLetter,
  FailureRecord,
  InsertOptions,
  LeasedTask,
  LeaseOptions,
  Queue,
  QueueCounts,
} from './types';
import type { QueueLocation } from '../urls/queue';

type SqsLocation = Extract<QueueLocation, { kind: 'sqs' }>;

const SECOND = 1000;
/** SQS limits (see the SQS reference): batch entries, long poll, visibility, delay. */
const MAX_BATCH = 10;
const MAX_WAIT_SECONDS = 20;
const MAX_VISIBILITY_SECONDS = 12 * 60 * 60;
const MAX_DELAY_SECONDS = 15 * 60;
const DEFAULT_CONCURRENCY = 16;
/** Default MaximumMessageSize, used when the queue does not report one. */
const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
/** Retries of throttled / server-side entry failures in a batch reply. */
const ENTRY_RETRIES = 8;
/** How long a `listDeadLetters` peek hides the messages it reads before they are restored. */
const PEEK_VISIBILITY_SECONDS = 300;
/** Retention for our queues: the SQS maximum, so a long job never loses waiting tasks (default: 4 days). */
const RETENTION_SECONDS = 14 * 24 * 60 * 60;
/** Receives before SQS itself moves a message to the dead-letter queue; above TQ_MAX_ATTEMPTS' default. */
export const DEFAULT_MAX_RECEIVE_COUNT = 10;

const FAILURE_ATTRIBUTE = 'failure';
const RETRYABLE_ENTRY_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'ThrottlingException',
  'RequestThrottled',
  'KmsThrottled',
  'Throttling',
]);

export function makeSqsClient(region?: string): SQSClient {
  // A local server's queue URLs name hosts like sqs.us-east-1.localhost: pin requests to the
  // configured endpoint instead of letting the SDK follow the URL's host.
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
  return new SQSClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    // long polls last up to 20 s: allow for that before calling a request timed out
    requestHandler: { connectionTimeout: 5 * SECOND, requestTimeout: 40 * SECOND },
  });
}

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

async function resolveQueueUrl(client: SQSClient, name: string, ownerAccount?: string): Promise<string> {
  try {
    const reply = await client.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: ownerAccount }));
    if (!reply.QueueUrl) throw new QueueError('BackendError', `GetQueueUrl for ${name} returned no URL`);
    return reply.QueueUrl;
  } catch (error) {
    throw mapSqsError(error, { action: 'find', queue: `sqs://${name}` });
  }
}

/**
 * Creates `<name>-dead`, then `<name>` with a redrive policy pointing at it; idempotent (an
 * existing queue gets the attributes set). Returns the queue URL for TASKQUEUE_PATH.
 */
export async function createSqsQueue(location: SqsLocation, options: CreateQueueOptions = {}): Promise<string> {
  const client = makeSqsClient(location.region);
  const context = { action: 'create', queue: location.queueUrl ?? `sqs://${location.name}` };
  try {
    const deadUrl = await ensureQueue(client, `${location.name}-dead`, {
      MessageRetentionPeriod: String(RETENTION_SECONDS),
    });
    const deadArn = (
      await client.send(new GetQueueAttributesCommand({ QueueUrl: deadUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    if (!deadArn) throw new QueueError('BackendError', `SQS returned no QueueArn for ${deadUrl}`);
    const attributes: Record<string, string> = {
      MessageRetentionPeriod: String(RETENTION_SECONDS),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: deadArn,
        maxReceiveCount: options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
      }),
    };
    if (options.visibilityTimeoutSeconds !== undefined)
      attributes.VisibilityTimeout = String(options.visibilityTimeoutSeconds);
    return await ensureQueue(client, location.name, attributes);
  } catch (error) {
    throw mapSqsError(error, context, location.region);
  } finally {
    client.destroy();
  }
}

async function ensureQueue(client: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  let url: string | undefined;
  try {
    url = (await client.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl;
  } catch (error) {
    // an existing queue whose attributes differ from the defaults: look it up instead
    if ((error as Error).name !== 'QueueNameExists' && (error as Error).name !== 'QueueAlreadyExists') throw error;
  }
  url ??= await resolveQueueUrl(client, name);
  await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  return url;
}

/** Task id of a message: the envelope id when the body is a JSON object with one, else the MessageId. */
function taskIdOf(message: Message): string {
  try {
    const parsed: unknown = JSON.parse(message.Body ?? '');
    const id = (parsed as { id?: unknown } | null)?.id;
    if (typeof id === 'string' && id !== '') return id;
  } catch {
    // malformed body: still leasable, named by its MessageId
  }
  return message.MessageId ?? '';
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function backoffMs(attempt: number): number {
  return Math.min(5 * SECOND, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

function isAbort(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'AbortError';
}

export class SqsQueue implements Queue {
  readonly kind = 'sqs' as const;
  private maxMessageBytes?: Promise<number>;
  private deadLetterUrl?: Promise<string | undefined>;

  constructor(
    private readonly client: SQSClient,
    readonly url: string,
    private readonly region?: string,
  ) {}

  private async call<T>(action: string, queue: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw mapSqsError(error, { action, queue }, this.region);
    }
  }

  private messageLimit(): Promise<number> {
    this.maxMessageBytes ??= this.call('read attributes of', this.url, async () => {
      const reply = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ['MaximumMessageSize'] }),
      );
      const size = Number(reply.Attributes?.MaximumMessageSize);
      return Number.isFinite(size) && size > 0 ? size : DEFAULT_MAX_MESSAGE_BYTES;
    });
    this.maxMessageBytes.catch(() => (this.maxMessageBytes = undefined));
    return this.maxMessageBytes;
  }

  async insert(bodies: Iterable<string> | AsyncIterable<string>, options: InsertOptions = {}): Promise<number> {
    const delay = Math.ceil(options.delaySeconds ?? 0);
    if (delay < 0 || delay > MAX_DELAY_SECONDS) {
      throw new RangeError(`delaySeconds must be 0–${MAX_DELAY_SECONDS} on SQS, got ${options.delaySeconds}`);
    }
    const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    const limit = await this.messageLimit();
    const inFlight = new Set<Promise<void>>();
    let stored = 0;
    let failure: unknown;
    let index = 0;
    let batch: Array<{ body: string; index: number }> = [];
    let batchBytes = 0;

    const launch = () => {
      const entries = batch;
      batch = [];
      batchBytes = 0;
      const sending: Promise<void> = this.sendBatch(entries, delay, limit)
        .then((count) => {
          stored += count;
          options.onProgress?.(count);
        })
        .catch((error: unknown) => {
          failure ??= error;
        })
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    };

    for await (const body of bodies) {
      if (failure) break;
      const size = byteLength(body);
      if (size > limit) {
        failure = new QueueError(
          'MessageTooLarge',
          `task #${index + 1} is ${size} bytes; the SQS queue ${this.url} takes at most ${limit} bytes per message`,
          'keep task parameters small: store large inputs in object storage and pass their paths',
        );
        break;
      }
      if (batch.length === MAX_BATCH || batchBytes + size > limit) {
        launch();
        if (inFlight.size >= concurrency) await Promise.race(inFlight);
      }
      batch.push({ body, index: index++ });
      batchBytes += size;
    }
    if (!failure && batch.length > 0) launch();
    await Promise.all(inFlight);
    if (failure) throw failure;
    return stored;
  }

  /** Sends one batch, retrying entries that failed for throttling or server-side reasons. */
  private async sendBatch(
    entries: Array<{ body: string; index: number }>,
    delay: number,
    limit: number,
  ): Promise<number> {
    let pending = entries;
    let sent = 0;
    for (let attempt = 0; ; attempt++) {
      const request: SendMessageBatchRequestEntry[] = pending.map((entry, i) => ({
        Id: String(i),
        MessageBody: entry.body,
        ...(delay > 0 ? { DelaySeconds: delay } : {}),
      }));
      const reply = await this.call('send to', this.url, () =>
        this.client.send(new SendMessageBatchCommand({ QueueUrl: this.url, Entries: request })),
      );
      sent += reply.Successful?.length ?? 0;
      const retry: typeof pending = [];
      for (const failed of reply.Failed ?? []) {
        const entry = pending[Number(failed.Id)]!;
        const code = failed.Code ?? 'UnknownError';
        if (!failed.SenderFault || RETRYABLE_ENTRY_CODES.has(code)) {
          retry.push(entry);
          continue;
        }
        if (/too long|shorter than|too large|size/i.test(failed.Message ?? '')) {
          throw new QueueError(
            'MessageTooLarge',
            `task #${entry.index + 1} (${byteLength(entry.body)} bytes) was refused by ${this.url}: ${failed.Message} (limit ${limit} bytes)`,
            'keep task parameters small: store large inputs in object storage and pass their paths',
          );
        }
        throw new QueueError(
          'BackendError',
          `task #${entry.index + 1} was refused by ${this.url}: ${code}: ${failed.Message ?? 'no message'}`,
        );
      }
      if (retry.length === 0) return sent;
      if (attempt >= ENTRY_RETRIES) {
        throw new QueueError(
          'BackendError',
          `${retry.length} task(s) were still refused by ${this.url} after ${ENTRY_RETRIES} retries (throttled or server errors)`,
          'retry the insert later; tasks already sent stay queued',
        );
      }
      pending = retry;
      await sleep(backoffMs(attempt));
    }
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
                MessageSystemAttributeNames: ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp'],
              }),
              { abortSignal: signal },
            )
          ).Messages ?? [];
        for (const message of messages) leased.push(this.toLeasedTask(message, receivedAt, visibility));
      } catch (error) {
        if (isAbort(error) || signal?.aborted) return leased;
        throw mapSqsError(error, { action: 'receive from', queue: this.url }, this.region);
      }
      if (messages.length < want) break;
      wait = 0; // got a full batch: take what is there now, do not wait for more
    }
    return leased;
  }

  private toLeasedTask(message: Message, receivedAt: number, visibility: number): LeasedTask {
    const attributes = message.Attributes ?? {};
    const firstReceive = Number(attributes.ApproximateFirstReceiveTimestamp);
    return {
      id: taskIdOf(message),
      body: message.Body ?? '',
      attempt: Math.max(1, Number(attributes.ApproximateReceiveCount) || 1),
      handle: message.ReceiptHandle ?? '',
      leaseExpiresAt: receivedAt + visibility * SECOND,
      firstLeasedAt: Number.isFinite(firstReceive) ? firstReceive : undefined,
      leaseCeilingAt: receivedAt + MAX_VISIBILITY_SECONDS * SECOND,
    };
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

  /** The redrive target's URL, read from the queue's RedrivePolicy once. */
  private deadLetterQueue(): Promise<string | undefined> {
    this.deadLetterUrl ??= this.call('read attributes of', this.url, async () => {
      const reply = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.url, AttributeNames: ['RedrivePolicy'] }),
      );
      const policy = reply.Attributes?.RedrivePolicy;
      if (!policy) return undefined;
      const arn = String((JSON.parse(policy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn ?? '');
      // arn:aws:sqs:<region>:<account>:<name>
      const [, , , , account, name] = arn.split(':');
      if (!name)
        throw new QueueError(
          'BackendError',
          `queue ${this.url} has a RedrivePolicy without a usable deadLetterTargetArn: ${policy}`,
        );
      return resolveQueueUrl(this.client, name, account);
    });
    this.deadLetterUrl.catch(() => (this.deadLetterUrl = undefined));
    return this.deadLetterUrl;
  }

  private async requireDeadLetterQueue(): Promise<string> {
    const url = await this.deadLetterQueue();
    if (url) return url;
    throw new QueueError(
      'QueueNotFound',
      `SQS queue ${this.url} has no dead-letter queue (no RedrivePolicy)`,
      `run \`npm run queue:create -- --queue ${this.url}\`: it adds <name>-dead and the redrive policy`,
    );
  }

  async deadLetter(task: LeasedTask, failure: FailureRecord): Promise<void> {
    const deadUrl = await this.requireDeadLetterQueue();
    const limit = await this.messageLimit();
    const record = failureAttribute(
      failure,
      limit - byteLength(task.body) - byteLength(FAILURE_ATTRIBUTE) - byteLength('String'),
    );
    await this.call('send to', deadUrl, () =>
      this.client.send(
        new SendMessageCommand({
          QueueUrl: deadUrl,
          MessageBody: task.body,
          ...(record
            ? { MessageAttributes: { [FAILURE_ATTRIBUTE]: { DataType: 'String', StringValue: record } } }
            : {}),
        }),
      ),
    );
    await this.delete(task);
  }

  async *listDeadLetters(): AsyncIterable<DeadLetter> {
    const deadUrl = await this.deadLetterQueue();
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
    const deadUrl = await this.deadLetterQueue();
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
        await this.insert(move.map((m) => m.Body ?? ''));
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
            `requeued ${moved} task(s), but ${deleted.Failed.length} of them could not be removed from ${deadUrl} (${first.Code}: ${first.Message}); they will show up there again as duplicates`,
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
          MessageAttributeNames: [FAILURE_ATTRIBUTE],
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
    const source = await this.attributes(this.url, [
      'ApproximateNumberOfMessages',
      'ApproximateNumberOfMessagesNotVisible',
      'ApproximateNumberOfMessagesDelayed',
    ]);
    const deadUrl = await this.deadLetterQueue();
    const dead = deadUrl
      ? await this.attributes(deadUrl, [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ])
      : {};
    const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
    return {
      enqueued: sum(source),
      leased: source.ApproximateNumberOfMessagesNotVisible ?? 0,
      delayed: source.ApproximateNumberOfMessagesDelayed ?? 0,
      failed: sum(dead),
      approximate: true,
    };
  }

  private async attributes(queueUrl: string, names: QueueAttributeName[]): Promise<Record<string, number>> {
    return this.call('read attributes of', queueUrl, async () => {
      const reply = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }),
      );
      const out: Record<string, number> = {};
      for (const name of names) out[name] = Number(reply.Attributes?.[name] ?? 0) || 0;
      return out;
    });
  }

  async isEmpty(): Promise<boolean> {
    return (await this.counts()).enqueued === 0;
  }

  async releaseAll(): Promise<number> {
    throw new QueueError(
      'UnsupportedOperation',
      `cannot release all leases on SQS queue ${this.url}: SQS has no way to list the receipt handles of in-flight messages`,
      'leased tasks become visible again by themselves when their visibility timeout (the lease) runs out',
    );
  }

  async purge(): Promise<void> {
    const deadUrl = await this.deadLetterQueue();
    for (const url of deadUrl ? [this.url, deadUrl] : [this.url]) {
      await this.call('purge', url, () => this.client.send(new PurgeQueueCommand({ QueueUrl: url })));
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

/** The failure record as a message attribute (without the body, which is the message itself), trimmed to fit. */
function failureAttribute(failure: FailureRecord, budget: number): string | undefined {
  const { body: _body, ...rest } = failure;
  let record: Omit<FailureRecord, 'body'> = rest;
  let text = JSON.stringify(record);
  if (byteLength(text) <= budget) return text;
  record = { ...rest, stack: undefined };
  text = JSON.stringify(record);
  if (byteLength(text) <= budget) return text;
  const overflow = byteLength(text) - budget + 16;
  if (overflow >= rest.message.length) return undefined;
  text = JSON.stringify({ ...record, message: `${rest.message.slice(0, rest.message.length - overflow)}…` });
  return byteLength(text) <= budget ? text : undefined;
}

function toDeadLetter(message: Message): DeadLetter {
  const body = message.Body ?? '';
  const id = taskIdOf(message);
  const raw = message.MessageAttributes?.[FAILURE_ATTRIBUTE]?.StringValue;
  if (!raw) return { id, body };
  try {
    return { id, body, failure: { ...(JSON.parse(raw) as Omit<FailureRecord, 'body'>), body } };
  } catch {
    return { id, body };
  }
}
