import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { parseQueueUrl, QueueError } from '../lib/queue';

describe('queue URLs', () => {
  it('reads file queue URLs: relative, absolute and home', () => {
    assert.deepEqual(parseQueueUrl('fq://./local/queue'), { kind: 'fq', root: path.resolve('local/queue') });
    assert.deepEqual(parseQueueUrl('fq:///srv/jobs/q'), { kind: 'fq', root: '/srv/jobs/q' });
    assert.deepEqual(parseQueueUrl('fq://~/q'), { kind: 'fq', root: path.join(os.homedir(), 'q') });
  });

  it('reads SQS names and queue URLs, taking the region from the host', () => {
    assert.deepEqual(parseQueueUrl('sqs://my-jobs'), { kind: 'sqs', name: 'my-jobs' });
    assert.deepEqual(parseQueueUrl('https://sqs.eu-west-1.amazonaws.com/123456789012/my-jobs'), {
      kind: 'sqs',
      name: 'my-jobs',
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/my-jobs',
      region: 'eu-west-1',
    });
  });

  for (const [url, why] of [
    ['local/queue', /bare path.*fq:\/\/\.\/local\/queue/],
    ['/srv/q', /bare path.*fq:\/\/\/srv\/q/],
    ['fq://', /names no directory/],
    ['sqs://bad name', /not a valid SQS queue name/],
    ['https://example.com/not-a-queue', /not an SQS queue URL/],
    ['gs://bucket/q', /unknown scheme/],
  ] as const) {
    it(`rejects ${JSON.stringify(url)} with an InvalidQueueUrl error that shows the forms`, () => {
      assert.throws(
        () => parseQueueUrl(url),
        (error: unknown) =>
          error instanceof QueueError &&
          error.code === 'InvalidQueueUrl' &&
          why.test(error.message) &&
          /sqs:\/\/NAME/.test(error.message),
      );
    });
  }
});
