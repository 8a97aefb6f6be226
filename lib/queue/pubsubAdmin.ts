/**
 * Pub/Sub queue administration: creating the topic, its subscription with a dead-letter policy,
 * and the dead-letter topic with its own subscription (so dead letters can be listed and
 * requeued); and reading a subscription's settings.
 */
import { grpcStatus, mapPubsubError } from './pubsubErrors';
import {
  deadLetterId,
  makePubsubClients,
  PubsubClients,
  PubsubLocation,
  pubsubNames,
  subscriptionForTopic,
} from './pubsubClient';
import { QueueError } from './errors';
import type { CreateQueueOptions } from './types';
import { settingRef } from '../settings/table';

const ALREADY_EXISTS = 6;
/** The longest a subscription keeps an unacked message: Pub/Sub's maximum, 7 days (its default too). */
export const RETENTION_SECONDS = 7 * 24 * 60 * 60;
/** Pub/Sub allows 5–100 delivery attempts in a dead-letter policy; ours default above the `maxAttempts` default. */
export const DEFAULT_MAX_DELIVERY_ATTEMPTS = 10;
export const MIN_DELIVERY_ATTEMPTS = 5;
export const MAX_DELIVERY_ATTEMPTS = 100;
/** The default ack deadline (lease) of a new subscription, and Pub/Sub's bounds for it. */
export const DEFAULT_ACK_DEADLINE_SECONDS = 60;
export const MIN_ACK_DEADLINE_SECONDS = 10;

export interface SubscriptionSettings {
  readonly ackDeadlineSeconds: number;
  /** The dead-letter topic's full name, when the subscription has a dead-letter policy. */
  readonly deadLetterTopic?: string;
  readonly maxDeliveryAttempts?: number;
  readonly retentionSeconds?: number;
}

export interface CreatedPubsubQueue {
  readonly url: string;
  readonly topic: string;
  readonly subscription: string;
  readonly deadTopic: string;
  readonly deadSubscription: string;
  readonly maxDeliveryAttempts: number;
  readonly ackDeadlineSeconds: number;
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) {
    throw new QueueError(
      'InvalidQueueUrl',
      `${name} must be a whole number from ${min} to ${max} on Pub/Sub, got ${value}`,
      name === 'the lease'
        ? `set ${settingRef('leaseSeconds')} to 10–600: ` +
            'the worker renews the lease every third of it, so tasks may run longer'
        : `set ${settingRef('maxAttempts')} to 4–99: the dead-letter policy allows one more delivery than that`,
    );
  }
}

async function ignoreExisting(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return true;
  } catch (error) {
    if (grpcStatus(error) === ALREADY_EXISTS) return false;
    throw error;
  }
}

/**
 * Creates (or updates) the queue's topic `T`, subscription `S` with a dead-letter policy to
 * `T-dead` after `maxDeliveryAttempts`, and `T-dead` with its subscription `T-dead`; idempotent.
 */
export async function createPubsubQueue(
  location: PubsubLocation,
  options: CreateQueueOptions = {},
): Promise<CreatedPubsubQueue> {
  const maxDeliveryAttempts = options.maxReceiveCount ?? DEFAULT_MAX_DELIVERY_ATTEMPTS;
  const ackDeadlineSeconds = options.visibilityTimeoutSeconds ?? DEFAULT_ACK_DEADLINE_SECONDS;
  checkRange(
    'the dead-letter policy’s delivery attempts',
    maxDeliveryAttempts,
    MIN_DELIVERY_ATTEMPTS,
    MAX_DELIVERY_ATTEMPTS,
  );
  checkRange('the lease', ackDeadlineSeconds, MIN_ACK_DEADLINE_SECONDS, 600);
  const names = pubsubNames(location);
  const clients = makePubsubClients(location.project);
  let resource = names.deadTopic;
  const retention = { seconds: RETENTION_SECONDS };
  try {
    await ignoreExisting(clients.publisher.createTopic({ name: names.deadTopic }));
    resource = names.topic;
    await ignoreExisting(clients.publisher.createTopic({ name: names.topic }));
    resource = names.deadSubscription;
    await ignoreExisting(
      clients.subscriber.createSubscription({
        name: names.deadSubscription,
        topic: names.deadTopic,
        ackDeadlineSeconds: DEFAULT_ACK_DEADLINE_SECONDS,
        messageRetentionDuration: retention,
        expirationPolicy: {}, // never expires (the default deletes a subscription unused for 31 days)
      }),
    );
    resource = names.subscription;
    const subscription = {
      name: names.subscription,
      topic: names.topic,
      ackDeadlineSeconds,
      messageRetentionDuration: retention,
      expirationPolicy: {},
      deadLetterPolicy: { deadLetterTopic: names.deadTopic, maxDeliveryAttempts },
    };
    if (!(await ignoreExisting(clients.subscriber.createSubscription(subscription)))) {
      await clients.subscriber.updateSubscription({
        subscription,
        updateMask: {
          paths: ['ack_deadline_seconds', 'message_retention_duration', 'expiration_policy', 'dead_letter_policy'],
        },
      });
    }
  } catch (error) {
    throw mapPubsubError(error, { action: 'create', queue: location.url, resource });
  } finally {
    await clients.close();
  }
  return {
    url: location.url,
    ...names,
    maxDeliveryAttempts,
    ackDeadlineSeconds,
  };
}

export async function readSubscription(
  clients: PubsubClients,
  subscription: string,
  queueUrl: string,
): Promise<SubscriptionSettings> {
  let reply;
  try {
    [reply] = await clients.subscriber.getSubscription({ subscription });
  } catch (error) {
    throw mapPubsubError(error, { action: 'read', queue: queueUrl, resource: `Pub/Sub subscription ${subscription}` });
  }
  const policy = reply.deadLetterPolicy;
  const retention = reply.messageRetentionDuration?.seconds;
  return {
    ackDeadlineSeconds: reply.ackDeadlineSeconds || DEFAULT_ACK_DEADLINE_SECONDS,
    ...(policy?.deadLetterTopic
      ? { deadLetterTopic: policy.deadLetterTopic, maxDeliveryAttempts: policy.maxDeliveryAttempts || 5 }
      : {}),
    ...(retention !== undefined && retention !== null ? { retentionSeconds: Number(retention) } : {}),
  };
}

/** The dead-letter pair of a subscription: its policy's topic, else the `<topic>-dead` convention. */
export function deadLetterNames(
  location: PubsubLocation,
  settings: SubscriptionSettings,
): { readonly topic: string; readonly subscription: string } {
  const topic = settings.deadLetterTopic ?? `projects/${location.project}/topics/${deadLetterId(location.topic)}`;
  return { topic, subscription: subscriptionForTopic(topic) };
}
