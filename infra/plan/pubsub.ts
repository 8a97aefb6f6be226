/**
 * A Pub/Sub queue in the stack, as plain data: the topic, the subscription the workers pull (ack
 * deadline = the lease), the dead-letter topic and its subscription (so `failures` and `requeue`
 * can read dead letters), the dead-letter policy, and who gets which role on which of them. The
 * names and numbers are the ones `npm run queue:create` uses (lib/queue/pubsubAdmin.ts), so a
 * queue made either way is the same queue. Pure.
 */
import type { QueueLocation } from '../../lib/urls/queue';
import { PROJECT } from './schema';
import type { PubsubInput } from './schemaPubsub';
import type { WorkersInput } from './schema';
import type { PubsubQueuePlan, Workers } from './types';

export type { PubsubQueuePlan, PubsubResourceIds } from './types';

/** Pub/Sub's bounds on a subscription's ack deadline: one call cannot lease for longer. */
export const PUBSUB_MIN_ACK_DEADLINE_SECONDS = 10;
export const PUBSUB_MAX_ACK_DEADLINE_SECONDS = 600;
/** Pub/Sub's bounds on a dead-letter policy's maxDeliveryAttempts. */
export const PUBSUB_MIN_DELIVERY_ATTEMPTS = 5;
export const PUBSUB_MAX_DELIVERY_ATTEMPTS = 100;
/** How long a subscription keeps an unacked task: 7 days, as queue:create sets it. */
export const PUBSUB_RETENTION = '604800s';

/** Roles, each granted on one resource only (never project-wide). */
export const PUBSUB_ROLES = {
  /** Pull, ack, modifyAckDeadline (lease, renew, release, delete). */
  subscriber: 'roles/pubsub.subscriber',
  /** Publish (dead letters on the dead-letter topic; requeue on the task topic). */
  publisher: 'roles/pubsub.publisher',
  /** Read a subscription's settings (the worker reads its ack deadline and dead-letter policy). */
  viewer: 'roles/pubsub.viewer',
} as const;

/** Cloud Monitoring read access, project-wide (the only level it exists at): KEDA reads the backlog there. */
export const MONITORING_VIEWER_ROLE = 'roles/monitoring.viewer';

/** An IAM principal as the IAM API writes it. */
const IAM_MEMBER = /^(user|group|serviceAccount|domain|principal|principalSet):\S+$/;

/** The dead-letter topic and its subscription: `<topic>-dead` (lib/queue/pubsubClient.ts's deadLetterId). */
export function deadLetterId(topic: string): string {
  return `${topic}-dead`;
}

/**
 * maxDeliveryAttempts for `maxAttempts` worker attempts: one more, so the worker's own
 * dead-lettering (with its failure record) comes first and Pub/Sub's forwarding only catches
 * tasks whose workers died (as queue:create's redrive count).
 */
export function maxDeliveryAttemptsFor(maxAttempts: number): number {
  return maxAttempts + 1;
}

/** The Pub/Sub service agent of a project: it forwards dead letters, so it needs roles on them. */
export function pubsubServiceAgent(projectNumber: string): string {
  return `serviceAccount:service-${projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
}

/**
 * Checks the worker settings against Pub/Sub's limits and builds the plan; pushes one message per
 * problem, naming the setting, where its value came from, and the fix.
 */
export function checkPubsubQueue(
  location: Extract<QueueLocation, { kind: 'pubsub' }>,
  workers: Workers,
  input: { readonly workers?: WorkersInput; readonly pubsub: PubsubInput },
  defaultsSource: string,
  problems: string[],
): PubsubQueuePlan | undefined {
  const before = problems.length;
  const from = (key: 'leaseSeconds' | 'maxAttempts') =>
    input.workers?.[key] === undefined ? ` (from ${defaultsSource})` : '';
  const lease = workers.leaseSeconds;
  const nearest = Math.min(Math.max(lease, PUBSUB_MIN_ACK_DEADLINE_SECONDS), PUBSUB_MAX_ACK_DEADLINE_SECONDS);
  if (lease !== nearest) {
    problems.push(
      `workers.leaseSeconds ${lease}${from('leaseSeconds')}: a Pub/Sub queue's lease is its subscription's ack ` +
        `deadline, which Pub/Sub allows from ${PUBSUB_MIN_ACK_DEADLINE_SECONDS} to ` +
        `${PUBSUB_MAX_ACK_DEADLINE_SECONDS} s; set it within that range: pulumi config set --path ` +
        `${PROJECT}:workers.leaseSeconds ${nearest} ` +
        '(the worker renews the lease every third of it, so a task may run longer than the lease)',
    );
  }
  const attempts = maxDeliveryAttemptsFor(workers.maxAttempts);
  if (attempts < PUBSUB_MIN_DELIVERY_ATTEMPTS || attempts > PUBSUB_MAX_DELIVERY_ATTEMPTS) {
    const lowest = PUBSUB_MIN_DELIVERY_ATTEMPTS - 1;
    const highest = PUBSUB_MAX_DELIVERY_ATTEMPTS - 1;
    problems.push(
      `workers.maxAttempts ${workers.maxAttempts}${from('maxAttempts')}: on Pub/Sub the subscription's ` +
        `dead-letter policy forwards a task after maxAttempts + 1 = ${attempts} deliveries (one more than the ` +
        `workers try, so their own dead letter with its failure record comes first), and Pub/Sub allows ` +
        `${PUBSUB_MIN_DELIVERY_ATTEMPTS}–${PUBSUB_MAX_DELIVERY_ATTEMPTS}; set workers.maxAttempts to ` +
        `${lowest}–${highest}: pulumi config set --path ${PROJECT}:workers.maxAttempts ` +
        `${Math.min(Math.max(workers.maxAttempts, lowest), highest)}`,
    );
  }
  input.pubsub.operators.forEach((member, i) => {
    if (!IAM_MEMBER.test(member)) {
      problems.push(
        `pubsub.operators[${i}] ${JSON.stringify(member)}: is not an IAM principal; write it as IAM does, e.g. ` +
          'user:me@example.com, group:team@example.com or serviceAccount:NAME@PROJECT.iam.gserviceaccount.com',
      );
    }
  });
  if (problems.length > before) return undefined;
  const project = location.project;
  const dead = deadLetterId(location.topic);
  return {
    url: location.url,
    create: input.pubsub.createQueue,
    project,
    topic: location.topic,
    subscription: location.subscription,
    deadLetter: dead,
    topicName: `projects/${project}/topics/${location.topic}`,
    subscriptionName: `projects/${project}/subscriptions/${location.subscription}`,
    deadTopicName: `projects/${project}/topics/${dead}`,
    deadSubscriptionName: `projects/${project}/subscriptions/${dead}`,
    ackDeadlineSeconds: lease,
    maxDeliveryAttempts: attempts,
    retention: PUBSUB_RETENTION,
    operators: input.pubsub.operators,
  };
}

/** One IAM grant: a role for a member on one Pub/Sub resource. */
export interface PubsubGrant {
  /** A short, stable name for the Pulumi resource. */
  readonly name: string;
  readonly on: 'topic' | 'subscription' | 'deadTopic' | 'deadSubscription';
  readonly role: string;
  readonly member: string;
}

/**
 * Who gets what, resource by resource:
 * - the Pub/Sub service agent: publisher on the dead-letter topic and subscriber on the task
 *   subscription, which is what its dead-letter forwarding needs (Pub/Sub's documented pair);
 * - the workers: subscriber and viewer on the task subscription (lease, renew, release, ack, read
 *   its settings), publisher on the dead-letter topic (their dead letters);
 * - each operator: what status, failures, requeue and purge need: viewer and subscriber on both
 *   subscriptions (read settings, peek dead letters, seek), publisher on the task topic (requeue).
 */
export function pubsubGrants(serviceAgent: string, workers: string, operators: readonly string[]): PubsubGrant[] {
  const grants: PubsubGrant[] = [
    { name: 'agent-dead-publisher', on: 'deadTopic', role: PUBSUB_ROLES.publisher, member: serviceAgent },
    { name: 'agent-subscriber', on: 'subscription', role: PUBSUB_ROLES.subscriber, member: serviceAgent },
    { name: 'workers-subscriber', on: 'subscription', role: PUBSUB_ROLES.subscriber, member: workers },
    { name: 'workers-viewer', on: 'subscription', role: PUBSUB_ROLES.viewer, member: workers },
    { name: 'workers-dead-publisher', on: 'deadTopic', role: PUBSUB_ROLES.publisher, member: workers },
  ];
  operators.forEach((member, i) => {
    grants.push(
      { name: `operator${i}-subscriber`, on: 'subscription', role: PUBSUB_ROLES.subscriber, member },
      { name: `operator${i}-viewer`, on: 'subscription', role: PUBSUB_ROLES.viewer, member },
      { name: `operator${i}-dead-subscriber`, on: 'deadSubscription', role: PUBSUB_ROLES.subscriber, member },
      { name: `operator${i}-dead-viewer`, on: 'deadSubscription', role: PUBSUB_ROLES.viewer, member },
      { name: `operator${i}-publisher`, on: 'topic', role: PUBSUB_ROLES.publisher, member },
    );
  });
  return grants;
}
