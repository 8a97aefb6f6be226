/**
 * SendMessageBatch without the SDK's command pipeline (lib/queue/sqsSendBatch.ts): on the wire it
 * must be the request the SDK sends, signed so that the request as received verifies; against
 * fauxqs it stores batches and reports refused entries; anything but a 200 goes through the SDK.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { taskIdAttributes } from '../lib/queue/sqsMessages';
import { BatchEntry, SqsBatchSender } from '../lib/queue/sqsSendBatch';
import { useFauxqs } from './support/fauxqs';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

const BODIES = ['{"plain": 1}', 'quotes " and \\ and tab\t, é, 日本', '{"last": true}'];
const entries = (bodies: readonly string[]): BatchEntry[] =>
  bodies.map((body, i) => ({ Id: String(i), MessageBody: body, MessageAttributes: taskIdAttributes(`task-${i}`) }));

/** A server that records each request and answers with the next of `answers` (the last one repeats). */
function recordingServer(answers: ReadonlyArray<{ status: number; headers?: http.OutgoingHttpHeaders; body: string }>) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const answer = answers[Math.min(received.length, answers.length) - 1]!;
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', ...answer.headers });
      res.end(answer.body);
    });
  });
  return {
    received,
    async start(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function clientFor(endpoint: string): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    maxAttempts: 1,
    md5: false, // as lib/queue/sqsClient.ts; the recording server's MD5s are made up
  });
}

/** 20261203T101500Z → Date */
function amzDate(text: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  assert.ok(m, `x-amz-date ${text}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

describe('SQS batch sender', () => {
  describe('on the wire', () => {
    const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/wire';
    const ok = JSON.stringify({ Successful: [{ Id: '0', MessageId: 'm-0', MD5OfMessageBody: 'x' }], Failed: [] });

    it('sends what the SDK sends, signed so that the request as received verifies', async () => {
      const server = recordingServer([{ status: 200, body: ok }]);
      const client = clientFor(await server.start());
      try {
        const sent = entries(BODIES).map((entry) => ({ ...entry, DelaySeconds: 5 }));
        const answer = await new SqsBatchSender(client, QUEUE_URL).send(sent);
        assert.deepEqual(answer, JSON.parse(ok));
        await client.send(new SendMessageBatchCommand({ QueueUrl: QUEUE_URL, Entries: sent }));
        const [ours, sdk] = server.received;
        assert.ok(ours && sdk);
        assert.equal(ours.method, sdk.method);
        assert.equal(ours.path, sdk.path);
        for (const header of ['host', 'content-type', 'x-amz-target', 'x-amzn-query-mode', 'content-length'])
          assert.equal(ours.headers[header], sdk.headers[header], header);
        assert.deepEqual(JSON.parse(ours.body), JSON.parse(sdk.body)); // the same JSON, not always the same bytes
        assert.match(String(sdk.headers['x-amz-content-sha256']), /^[0-9a-f]{64}$/, 'the SDK sends the body hash too');

        // the signature covers the target, host and body; re-signing what arrived gives the same one
        const authorization = String(ours.headers.authorization);
        const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
        for (const name of ['host', 'x-amz-target', 'x-amz-date', 'x-amz-content-sha256'])
          assert.ok(signedNames.includes(name), `${name} is signed: ${authorization}`);
        const headers = Object.fromEntries(
          signedNames
            .filter((name) => name !== 'x-amz-content-sha256')
            .map((name) => [name, String(ours.headers[name])]),
        );
        const signer = await client.config.signer();
        const again = await signer.sign(
          {
            method: ours.method,
            protocol: 'http:',
            hostname: '127.0.0.1',
            path: ours.path,
            query: {},
            headers,
            body: ours.body,
          },
          { signingDate: amzDate(String(ours.headers['x-amz-date'])) },
        );
        assert.equal(again.headers['x-amz-content-sha256'], ours.headers['x-amz-content-sha256']);
        assert.equal(again.headers.authorization, authorization);
      } finally {
        client.destroy();
        await server.stop();
      }
    });

    it("sends a refused call again through the SDK's command and throws its typed error", async () => {
      const server = recordingServer([
        {
          status: 400,
          headers: { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' },
          body: JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'no such queue' }),
        },
      ]);
      const client = clientFor(await server.start());
      try {
        await assert.rejects(new SqsBatchSender(client, QUEUE_URL).send(entries(['a'])), (error: Error) => {
          assert.equal(error.name, 'QueueDoesNotExist');
          return true;
        });
        assert.equal(server.received.length, 2, 'ours, then the SDK command (maxAttempts 1)');
        assert.deepEqual(JSON.parse(server.received[1]!.body), JSON.parse(server.received[0]!.body));
      } finally {
        client.destroy();
        await server.stop();
      }
    });
  });

  describe('against fauxqs', () => {
    useFauxqs();
    let client: SQSClient;
    before(() => {
      client = new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS });
    });
    after(() => client.destroy());

    async function receiveAll(url: string, count: number) {
      const messages = [];
      while (messages.length < count) {
        const reply = await client.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
        );
        assert.ok(reply.Messages?.length, `received ${messages.length} of ${count}`);
        messages.push(...reply.Messages);
      }
      return messages;
    }

    it('stores every entry of a batch, bodies and id attributes intact', async () => {
      const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: 'send-batch-ok' }));
      const answer = await new SqsBatchSender(client, url!).send(entries(BODIES));
      assert.deepEqual(answer.Successful?.map((entry) => entry.Id).sort(), ['0', '1', '2']);
      assert.deepEqual(answer.Failed ?? [], []);
      const stored = (await receiveAll(url!, 3)).map((m) => [m.MessageAttributes?.taskId?.StringValue, m.Body]);
      assert.deepEqual(
        stored.sort(),
        BODIES.map((body, i) => [`task-${i}`, body]),
      );
    });

    it('reports a refused entry by its Id (BatchResultErrorEntry), storing the others', async () => {
      const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: 'send-batch-partial' }));
      const answer = await new SqsBatchSender(client, url!).send(entries(['first', 'bad \u0000 char', 'third']));
      assert.deepEqual(answer.Successful?.map((entry) => entry.Id).sort(), ['0', '2']);
      assert.equal(answer.Failed?.length, 1);
      assert.equal(answer.Failed[0]!.Id, '1');
      assert.equal(answer.Failed[0]!.SenderFault, true);
      assert.equal(answer.Failed[0]!.Code, 'InvalidMessageContents');
      assert.deepEqual((await receiveAll(url!, 2)).map((m) => m.Body).sort(), ['first', 'third']);
    });

    it("gives a missing queue the SDK's typed error", async () => {
      const missing = `${process.env.AWS_ENDPOINT_URL_SQS}/000000000000/no-such-queue`;
      await assert.rejects(new SqsBatchSender(client, missing).send(entries(['a'])), (error: Error) => {
        assert.match(error.name, /QueueDoesNotExist|NonExistentQueue/);
        return true;
      });
    });
  });
});
