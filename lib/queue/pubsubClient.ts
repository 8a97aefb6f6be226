/**
 * The Pub/Sub clients: `@google-cloud/pubsub` with Application Default Credentials (Workload
 * Identity on GKE) and `PUBSUB_EMULATOR_HOST` for a local server. The generated v1 subscriber does
 * unary pull / ack / modifyAckDeadline and reads subscriptions; the handwritten `PubSub` (its
 * batching publisher) and the v1 publisher are loaded on first use, as a look at a queue (`status`)
 * needs neither and loading them costs ≈ 0.3 s of CPU (docs/queue.md, "Status on the other backends").
 */
import type { ClientOptions } from 'google-gax';
import type { PubSub, v1 } from '@google-cloud/pubsub';
import type { QueueLocation } from '../urls/queue';

type PubsubSdk = typeof import('@google-cloud/pubsub');
type SubscriberModule = typeof import('@google-cloud/pubsub-api/build/src/v1/subscriber_client');

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
  readonly subscriber: v1.SubscriberClient;
  /** The handwritten client (publishing), loaded and made on first use. */
  readonly pubsub: PubSub;
  /** The generated publisher (creating topics), loaded and made on first use. */
  readonly publisher: v1.PublisherClient;
  close(): Promise<void>;
}

/**
 * What our clients are given besides the project: the handwritten client's gRPC settings (large
 * metadata; keepalive against connections that die silently), and for an emulator at
 * PUBSUB_EMULATOR_HOST (`host:port`, `http://host:port`) its address over plaintext, as the
 * handwritten client sets it.
 */
export function pubsubClientOptions(project: string, env: NodeJS.ProcessEnv = process.env): ClientOptions {
  const options: ClientOptions = {
    projectId: project,
    'grpc.max_metadata_size': 4 * 1024 * 1024,
    'grpc.keepalive_time_ms': 300_000,
    'grpc.keepalive_timeout_ms': 20_000,
  };
  const emulator = env.PUBSUB_EMULATOR_HOST?.trim()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  if (!emulator) return options;
  const [host, port] = emulator.split(':');
  const endpoint = { ...options, servicePath: host, ...(port ? { port: Number(port) } : {}) };
  // A Google endpoint named there is reached over TLS, like the service.
  if (host!.endsWith('.googleapis.com')) return endpoint;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { grpc } = require('google-gax') as typeof import('google-gax');
  return { ...endpoint, sslCreds: grpc.credentials.createInsecure() };
}

export function makePubsubClients(project: string): PubsubClients {
  const options = pubsubClientOptions(project);
  // Plain requires: the subscriber's own module, not the package's index, which loads every client.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SubscriberClient } = require('@google-cloud/pubsub-api/build/src/v1/subscriber_client') as SubscriberModule;
  const subscriber = new SubscriberClient({ ...options });
  let pubsub: PubSub | undefined;
  let publisher: v1.PublisherClient | undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = () => require('@google-cloud/pubsub') as PubsubSdk;
  return {
    subscriber,
    get pubsub() {
      pubsub ??= new (sdk().PubSub)({ projectId: project });
      return pubsub;
    },
    get publisher() {
      publisher ??= new (sdk().v1.PublisherClient)({ ...options });
      return publisher;
    },
    async close() {
      await Promise.allSettled([subscriber.close(), publisher?.close(), pubsub?.close()]);
    },
  };
}

/** The endpoint the client talks to, for messages. */
export function pubsubEndpointDescription(): string {
  const emulator = process.env.PUBSUB_EMULATOR_HOST;
  return emulator ? `${emulator} (from PUBSUB_EMULATOR_HOST)` : 'pubsub.googleapis.com';
}
