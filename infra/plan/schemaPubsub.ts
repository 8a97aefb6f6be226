/**
 * The `pubsub` config key: how the stack treats a Pub/Sub queue (`queueUrl pubsub://...`). Its own
 * module so other config sections can grow without touching it. Pure.
 */
import { z } from 'zod';
import { bool } from './schemaFields';

export const pubsubSchema = z.strictObject({
  createQueue: bool()
    .default(true)
    .describe(
      'true (default): the stack creates the topic, the subscription (ack deadline = workers.leaseSeconds, ' +
        'dead-letter policy after workers.maxAttempts + 1 deliveries) and the dead-letter topic TOPIC-dead with ' +
        'its subscription, and deletes them on destroy; false: they exist already (npm run queue:create) and ' +
        'the stack only grants roles on them.',
    ),
  operators: z
    .array(z.string({ error: 'must be an IAM principal such as user:me@example.com' }), {
      error: 'must be a list of IAM principals',
    })
    .default([])
    .describe(
      'IAM principals (user:..., group:..., serviceAccount:...) that may run status, failures, requeue and ' +
        'purge on this queue: roles on its topic and subscriptions only. Default none (project owners can anyway).',
    ),
});

export type PubsubInput = z.output<typeof pubsubSchema>;
