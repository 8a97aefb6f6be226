/**
 * The Pub/Sub clients: `@google-cloud/pubsub` with Application Default Credentials (Workload
 * Identity on GKE) and `PUBSUB_EMULATOR_HOST` for a local server, which the library reads itself.
 * One `PubSub` for publishing (its batching publisher) and the generated v1 clients, built from its
 * options, for unary pull / ack / modifyAckDeadline and administration.
 */
import { PubSub, v1 } from '@google-cloud/pubsub';
import type { QueueLocation } from '../urls/queue';

export type PubsubLocation = Extract<QueueLocation, { kind: 'pubsub' }>;

export const SECOND = 1000;

/** Full resource names of a queue's topic and subscription and its dead-letter pair. */
export interface PubsubNames {
  readonly topic: string;
  readonly subscription: string;
  readonly deadTopic: string;
  readonly deadSubscription: string;
}

/** The dead-letter topic and its subscription share one id: `<topic>-dead`. */
export function deadLetterId(topicId: string): string {
  return `${topicId}-dead`;
}

export function pubsubNames(location: PubsubLocation): PubsubNames {
  const project = `projects/${location.project}`;
  return {
    topic: `${project}/topics/${location.topic}`,
    subscription: `${project}/subscriptions/${location.subscription}`,
    deadTopic: `${project}/topics/${deadLetterId(location.topic)}`,
    deadSubscription: `${project}/subscriptions/${deadLetterId(location.topic)}`,
  };
}

/** The subscription that reads a dead-letter topic: the same id under `subscriptions/`. */
export function subscriptionForTopic(topicName: string): string {
  return topicName.replace(/\/topics\//, '/subscriptions/');
}

export interface PubsubClients {
  readonly pubsub: PubSub;
  readonly subscriber: v1.SubscriberClient;
  readonly publisher: v1.PublisherClient;
  close(): Promise<void>;
}

export function makePubsubClients(project: string): PubsubClients {
  const pubsub = new PubSub({ projectId: project });
  // The emulator endpoint and insecure channel the handwritten client derived from PUBSUB_EMULATOR_HOST.
  const subscriber = new v1.SubscriberClient({ ...pubsub.options });
  const publisher = new v1.PublisherClient({ ...pubsub.options });
  return {
    pubsub,
    subscriber,
    publisher,
    async close() {
      await Promise.allSettled([subscriber.close(), publisher.close(), pubsub.close()]);
    },
  };
}

/** The endpoint the client talks to, for messages. */
export function pubsubEndpointDescription(): string {
  const emulator = process.env.PUBSUB_EMULATOR_HOST;
  return emulator ? `${emulator} (from PUBSUB_EMULATOR_HOST)` : 'pubsub.googleapis.com';
}
