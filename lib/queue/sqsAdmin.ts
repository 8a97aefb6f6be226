/**
 * SQS queue administration: creating a queue with its dead-letter queue and redrive policy, and
 * the attribute reads the queue needs (message size limit, dead-letter queue, approximate counts).
 */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  QueueAttributeName,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { QueueError } from './errors';
import { makeSqsClient, resolveQueueUrl, SqsLocation } from './sqsClient';
import { mapSqsError } from './sqsErrors';
import type { CreateQueueOptions } from './types';

/** Default MaximumMessageSize, used when the queue does not report one. */
const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
/** Retention for our queues: the SQS maximum, so a long job never loses waiting tasks (default: 4 days). */
const RETENTION_SECONDS = 14 * 24 * 60 * 60;
/** Receives before SQS itself moves a message to the dead-letter queue; above the `maxAttempts` default. */
export const DEFAULT_MAX_RECEIVE_COUNT = 10;

/**
 * Creates `<name>-dead`, then `<name>` with a redrive policy pointing at it; idempotent (an
 * existing queue gets the attributes set). Returns the queue URL for the `queueUrl` setting.
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

const COUNT_ATTRIBUTES: QueueAttributeName[] = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
];

export interface ApproximateCounts {
  readonly visible: number;
  readonly notVisible: number;
  readonly delayed: number;
}

/** The attributes of one queue that the Queue implementation reads; the constant ones are read once. */
export class SqsQueueAttributes {
  private maxMessageBytes?: Promise<number>;
  private deadLetterUrl?: Promise<string | undefined>;

  constructor(
    private readonly client: SQSClient,
    readonly url: string,
    private readonly region?: string,
  ) {}

  private async read(queueUrl: string, names: QueueAttributeName[]): Promise<Record<string, string>> {
    try {
      const reply = await this.client.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: names }),
      );
      return reply.Attributes ?? {};
    } catch (error) {
      throw mapSqsError(error, { action: 'read attributes of', queue: queueUrl }, this.region);
    }
  }

  /** MaximumMessageSize in bytes (read once; a failed read is tried again next time). */
  messageLimit(): Promise<number> {
    this.maxMessageBytes ??= this.read(this.url, ['MaximumMessageSize']).then((attributes) => {
      const size = Number(attributes.MaximumMessageSize);
      return Number.isFinite(size) && size > 0 ? size : DEFAULT_MAX_MESSAGE_BYTES;
    });
    this.maxMessageBytes.catch(() => (this.maxMessageBytes = undefined));
    return this.maxMessageBytes;
  }

  /** The redrive target's URL, read from the queue's RedrivePolicy once; undefined without one. */
  deadLetterQueue(): Promise<string | undefined> {
    this.deadLetterUrl ??= this.read(this.url, ['RedrivePolicy']).then((attributes) => {
      const policy = attributes.RedrivePolicy;
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

  async requireDeadLetterQueue(): Promise<string> {
    const url = await this.deadLetterQueue();
    if (url) return url;
    throw new QueueError(
      'QueueNotFound',
      `SQS queue ${this.url} has no dead-letter queue (no RedrivePolicy)`,
      `run \`npm run queue:create -- --queue ${this.url}\`: it adds <name>-dead and the redrive policy`,
    );
  }

  async approximateCounts(queueUrl: string): Promise<ApproximateCounts> {
    const attributes = await this.read(queueUrl, COUNT_ATTRIBUTES);
    const count = (name: string) => Number(attributes[name] ?? 0) || 0;
    return {
      visible: count('ApproximateNumberOfMessages'),
      notVisible: count('ApproximateNumberOfMessagesNotVisible'),
      delayed: count('ApproximateNumberOfMessagesDelayed'),
    };
  }
}
