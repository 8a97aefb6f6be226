/**
 * The SQS client: `@aws-sdk/client-sqs` with the SDK's normal credential chain and region, the
 * standard `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` endpoint variables, and timeouts that allow
 * for 20 s long polls. The SDK's Node handler keeps connections alive between calls.
 */
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QueueError } from './errors';
import { mapSqsError } from './sqsErrors';
import type { QueueLocation } from '../urls/queue';

export type SqsLocation = Extract<QueueLocation, { kind: 'sqs' }>;

export const SECOND = 1000;

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

/** The https URL of queue `name` (in `ownerAccount`, for a dead-letter queue found by its ARN). */
export async function resolveQueueUrl(client: SQSClient, name: string, ownerAccount?: string): Promise<string> {
  try {
    const reply = await client.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: ownerAccount }));
    if (!reply.QueueUrl) throw new QueueError('BackendError', `GetQueueUrl for ${name} returned no URL`);
    return reply.QueueUrl;
  } catch (error) {
    throw mapSqsError(error, { action: 'find', queue: `sqs://${name}` });
  }
}
