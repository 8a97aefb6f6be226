/**
 * The one grammar of queue URLs and cloudpaths (lib/urls), table-driven: every form a user may
 * write, and every edge case decided once for the settings, the queue module, the stack and KEDA.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { QueueError } from '../lib/queue/errors';
import { StorageError } from '../lib/storage/errors';
import { parseCloudpath } from '../lib/urls/cloudpath';
import { parseQueueUrl, QueueLocation } from '../lib/urls/queue';

describe('URL grammar: queue URLs', () => {
  const accepted: Array<[string, QueueLocation]> = [
    ['fq://./local/queue', { kind: 'fq', root: path.resolve('local/queue') }],
    ['fq:///srv/jobs/q', { kind: 'fq', root: '/srv/jobs/q' }],
    ['fq://~/q', { kind: 'fq', root: path.join(os.homedir(), 'q') }],
    ['sqs://my-jobs', { kind: 'sqs', name: 'my-jobs' }],
    ['sqs://my_jobs/', { kind: 'sqs', name: 'my_jobs' }],
    [
      'https://sqs.eu-west-1.amazonaws.com/123456789012/my-jobs',
      {
        kind: 'sqs',
        name: 'my-jobs',
        queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/my-jobs',
        region: 'eu-west-1',
        accountId: '123456789012',
      },
    ],
    [
      // The legacy host: SQS still serves it, so the worker, the stack and KEDA all accept it.
      'https://us-east-1.queue.amazonaws.com/123456789012/jobs/',
      {
        kind: 'sqs',
        name: 'jobs',
        queueUrl: 'https://us-east-1.queue.amazonaws.com/123456789012/jobs',
        region: 'us-east-1',
        accountId: '123456789012',
      },
    ],
    [
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs',
      {
        kind: 'sqs',
        name: 'jobs',
        queueUrl: 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs',
        region: 'cn-north-1',
        accountId: '123456789012',
      },
    ],
    // An SQS-compatible endpoint (the tests' server, LocalStack): no AWS region or account rules.
    [
      'http://127.0.0.1:4566/000000000000/jobs',
      { kind: 'sqs', name: 'jobs', queueUrl: 'http://127.0.0.1:4566/000000000000/jobs' },
    ],
    // Pub/Sub: python-task-queue's form, and ours (topic and subscription share the name).
    [
      'pubsub://projects/my-project/topics/jobs/subscriptions/jobs-workers',
      {
        kind: 'pubsub',
        project: 'my-project',
        topic: 'jobs',
        subscription: 'jobs-workers',
        url: 'pubsub://projects/my-project/topics/jobs/subscriptions/jobs-workers',
      },
    ],
    [
      'pubsub://my-project/jobs/',
      {
        kind: 'pubsub',
        project: 'my-project',
        topic: 'jobs',
        subscription: 'jobs',
        url: 'pubsub://projects/my-project/topics/jobs/subscriptions/jobs',
      },
    ],
    [
      'pubsub://example.com:my-project/batch.v2',
      {
        kind: 'pubsub',
        project: 'example.com:my-project',
        topic: 'batch.v2',
        subscription: 'batch.v2',
        url: 'pubsub://projects/example.com:my-project/topics/batch.v2/subscriptions/batch.v2',
      },
    ],
  ];
  for (const [url, location] of accepted) {
    it(`reads ${url}`, () => assert.deepEqual(parseQueueUrl(url), location));
  }

  const refused: Array<[string, RegExp]> = [
    ['local/queue', /bare path.*fq:\/\/\.\/local\/queue/],
    ['/srv/q', /bare path.*fq:\/\/\/srv\/q/],
    ['fq://', /names no directory/],
    ['sqs://bad name', /not a valid SQS queue name/],
    ['sqs://jobs.fifo', /FIFO queue.*not supported/],
    ['https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo', /FIFO queue.*not supported/],
    ['https://sqs.us-east-1.amazonaws.com/12345/jobs', /12-digit AWS account id/],
    ['http://sqs.us-east-1.amazonaws.com/123456789012/jobs', /uses http:\/\//],
    ['https://example.com/not-a-queue', /not an SQS queue URL/],
    ['https://sqs.us-east-1.amazonaws.com/123456789012/jobs?x=1', /not an SQS queue URL/],
    ['gs://bucket/q', /unknown scheme/],
    ['pubsub://my-project', /not a Pub\/Sub queue URL/],
    ['pubsub://projects/my-project/topics/jobs', /not a Pub\/Sub queue URL/],
    ['pubsub://projects/my-project/subscriptions/s/topics/t', /not a Pub\/Sub queue URL/],
    ['pubsub://My_Project/jobs', /Google Cloud project id/],
    ['pubsub://my-project/9jobs', /topic id/],
    ['pubsub://my-project/goog-jobs', /not with "goog"/],
    ['pubsub://projects/my-project/topics/jobs/subscriptions/a b', /subscription id/],
  ];
  for (const [url, why] of refused) {
    it(`refuses ${JSON.stringify(url)} with an InvalidQueueUrl error that says why and how`, () => {
      assert.throws(
        () => parseQueueUrl(url),
        (error: unknown) =>
          error instanceof QueueError &&
          error.code === 'InvalidQueueUrl' &&
          why.test(error.message) &&
          /sqs:\/\/NAME/.test(error.message) &&
          (/FIFO/.test(error.message) || /pubsub:\/\/PROJECT\/NAME/.test(error.message)),
      );
    });
  }
});

describe('URL grammar: cloudpaths', () => {
  const accepted: Array<[string, string]> = [
    ['gs://bucket/out/run', 'gs://bucket/out/run'],
    ['gs://bucket/out/run/', 'gs://bucket/out/run'],
    ['s3://my.bucket', 's3://my.bucket'],
    ['file:///srv/out', 'file:///srv/out'],
  ];
  for (const [cloudpath, url] of accepted) {
    it(`reads ${cloudpath}`, () => assert.equal(parseCloudpath(cloudpath).url, url));
  }
  const refused: Array<[string, RegExp]> = [
    // Decided once: an empty segment would make keys that GCS and S3 store but file:// cannot.
    ['gs://b-1/out//run', /empty, "\." or "\.\." segment/],
    ['gs://Bucket/out', /not a valid bucket name/],
    ['gcs://bucket/out', /did you mean gs:\/\//],
    ['ftp://host/out', /"ftp:\/\/" is not supported/],
  ];
  for (const [cloudpath, why] of refused) {
    it(`refuses ${cloudpath}`, () => {
      assert.throws(
        () => parseCloudpath(cloudpath),
        (error: unknown) => error instanceof StorageError && error.code === 'InvalidUrl' && why.test(error.message),
      );
    });
  }
});
