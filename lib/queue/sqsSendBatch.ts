/**
 * SendMessageBatch without the SDK's command pipeline. At cloud latency an insert is bound by CPU,
 * and the pipeline (schema-driven JSON writer and reader, a dozen middlewares, per-call copies of
 * the client's configuration) cost more than half of an insert's CPU time (docs/queue.md, insert
 * at cloud latency). Here the body is one `JSON.stringify` (AWS JSON 1.0 names are the API's
 * member names, and every value we send is a string or a number), the answer one `JSON.parse`;
 * the SDK's own pieces do the rest: the client's signer (SigV4 with its credentials, region and
 * clock offset) and its request handler (its kept-alive connections). Anything but a 200 answer,
 * or a failure before one, is sent again as the SDK's `SendMessageBatchCommand`, whose retries
 * and typed errors then apply.
 */
import {
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type SendMessageBatchResultEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Readable } from 'node:stream';
import type { StringAttribute } from './sqsMessages';

export interface BatchEntry {
  readonly Id: string;
  readonly MessageBody: string;
  readonly MessageAttributes?: Readonly<Record<string, StringAttribute>>;
  readonly DelaySeconds?: number;
}

export interface BatchAnswer {
  readonly Successful?: readonly SendMessageBatchResultEntry[];
  readonly Failed?: readonly BatchResultErrorEntry[];
}

type Signer = Awaited<ReturnType<SQSClient['config']['signer']>>;
type SignableRequest = Parameters<Signer['sign']>[0];

/** Where the SDK sends a call about `queueUrl`: the configured endpoint, else the queue URL's own origin. */
async function endpointOf(client: SQSClient, queueUrl: string): Promise<URL> {
  const custom = client.config.isCustomEndpoint ? await client.config.endpoint?.() : undefined;
  if (!custom) return new URL(new URL(queueUrl).origin);
  const port = custom.port === undefined ? '' : `:${custom.port}`;
  return new URL(`${custom.protocol}//${custom.hostname}${port}${custom.path}`);
}

function readText(body: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    body.setEncoding('utf8');
    body.on('data', (chunk: string) => (text += chunk));
    body.once('end', () => resolve(text));
    body.once('error', reject);
  });
}

export class SqsBatchSender {
  private readonly ready: Promise<{ signer: Signer; endpoint: URL }>;

  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {
    this.ready = Promise.all([client.config.signer(), endpointOf(client, queueUrl)]).then(([signer, endpoint]) => ({
      signer,
      endpoint,
    }));
    this.ready.catch(() => {}); // a failure shows when the SDK's command is sent instead
  }

  async send(entries: readonly BatchEntry[]): Promise<BatchAnswer> {
    const input = { QueueUrl: this.queueUrl, Entries: entries };
    let answer: { status: number; text: string } | undefined;
    try {
      answer = await this.post(JSON.stringify(input));
    } catch {
      // the SDK's command below meets the same failure, retries it and names it
    }
    if (answer?.status === 200) return JSON.parse(answer.text) as BatchAnswer;
    return this.client.send(new SendMessageBatchCommand({ ...input, Entries: [...entries] }));
  }

  private async post(body: string): Promise<{ status: number; text: string }> {
    const { signer, endpoint } = await this.ready;
    const request: SignableRequest = {
      method: 'POST',
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      port: endpoint.port === '' ? undefined : Number(endpoint.port),
      path: endpoint.pathname.endsWith('/') ? endpoint.pathname : `${endpoint.pathname}/`,
      query: {},
      headers: {
        host: endpoint.host,
        'content-type': 'application/x-amz-json-1.0',
        'content-length': String(Buffer.byteLength(body)),
        'x-amz-target': 'AmazonSQS.SendMessageBatch',
        'x-amzn-query-mode': 'true',
      },
      body,
    };
    const signingDate = new Date(Date.now() + (this.client.config.systemClockOffset ?? 0));
    const signed = await signer.sign(request, { signingDate });
    const { response } = await this.client.config.requestHandler.handle(signed);
    const text = await readText(response.body as Readable);
    return { status: response.statusCode, text };
  }
}
