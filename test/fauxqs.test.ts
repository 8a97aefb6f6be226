import assert from 'node:assert/strict';
import { CreateQueueCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { useFauxqs } from './support/fauxqs';

describe('test support: fauxqs server', () => {
  const fauxqs = useFauxqs();

  it('answers the SDK over the standard endpoint variables', async () => {
    const sqs = new SQSClient({});
    const created = await sqs.send(new CreateQueueCommand({ QueueName: 'support-check' }));
    assert.ok(created.QueueUrl?.includes('support-check'));
    const listed = await sqs.send(new ListQueuesCommand({}));
    assert.ok(
      listed.QueueUrls?.some((url) => url.endsWith('/support-check')),
      fauxqs.server.endpoint,
    );
    sqs.destroy();
  });
});
