/**
 * The SQS client: `@aws-sdk/client-sqs` with the SDK's normal credential chain and region, the
 * standard `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` endpoint variables, and timeouts that allow
 * for 20 s long polls, over kept-alive connections (`sqsRequestHandler`), without the SDK's MD5
 * checks of bodies (`md5: false`).
 */
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import http from 'node:http';
import https from 'node:https';
import { QueueError } from './errors';
import { mapSqsError } from './sqsErrors';
import type { QueueLocation } from '../urls/queue';

export type SqsLocation = Extract<QueueLocation, { kind: 'sqs' }>;

export const SECOND = 1000;

/** Connections kept open per host: at least the most SendMessageBatch calls an insert keeps in flight. */
export const MAX_SOCKETS = 256;

/**
 * The SDK's Node handler with kept-alive connections and room for `MAX_SOCKETS` of them (the
 * SDK's default is 50, which would queue an insert's calls at cloud latency), and timeouts that
 * allow for 20 s long polls.
 */
export function sqsRequestHandler() {
  const agent = { keepAlive: true, maxSockets: MAX_SOCKETS };
  return {
    connectionTimeout: 5 * SECOND,
    requestTimeout: 40 * SECOND,
    httpAgent: new http.Agent(agent),
    httpsAgent: new https.Agent(agent),
  };
}

export function makeSqsClient(region?: string): SQSClient {
  // A local server's queue URLs name hosts like sqs.us-east-1.localhost: pin requests to the
  // configured endpoint instead of letting the SDK follow the URL's host.
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS ?? process.env.AWS_ENDPOINT_URL;
  return new SQSClient({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    requestHandler: sqsRequestHandler(),
    // The SDK hashes every body sent and received to compare with SQS's MD5 of it: TLS already
    // guarantees the bytes arrive intact, and the hashing was an eighth of an insert's CPU time
    // (docs/queue.md, insert at cloud latency).
    md5: false,
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
