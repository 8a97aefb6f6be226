/**
 * PubsubQueue: a Pub/Sub queue in the stack (plan/pubsub.ts): the task topic and the subscription
 * the workers pull (ack deadline = lease, dead-letter policy, 7-day retention, never expiring),
 * the dead-letter topic `<topic>-dead` with its own subscription (so `failures` and `requeue` can
 * read what was dead-lettered: a topic without a subscription drops what it gets), and the roles
 * on exactly those resources: the Pub/Sub service agent's (it forwards dead letters), the workers'
 * and the operators'. With `create: false` the four resources exist already (queue:create) and
 * only the roles are declared.
 */
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { pubsubGrants, PubsubQueuePlan, pubsubServiceAgent } from '../plan/pubsub';

/** Placeholders for the two members only known at deploy time. */
const SERVICE_AGENT = 'service-agent';
const WORKERS = 'workers';

export interface PubsubQueueArgs {
  readonly plan: PubsubQueuePlan;
  /** The workers' Google service account, as an IAM member ("serviceAccount:EMAIL"). */
  readonly workersMember: pulumi.Input<string>;
}

export class PubsubQueue extends pulumi.ComponentResource {
  public readonly topic?: gcp.pubsub.Topic;
  public readonly subscription?: gcp.pubsub.Subscription;
  public readonly deadTopic?: gcp.pubsub.Topic;
  public readonly deadSubscription?: gcp.pubsub.Subscription;
  /** Every role granted; the workers start after them. */
  public readonly grants: pulumi.Resource[];
  /** The Pub/Sub service agent of the queue's project, "serviceAccount:service-NUMBER@gcp-sa-pubsub...". */
  public readonly serviceAgent: pulumi.Output<string>;

  constructor(name: string, args: PubsubQueueArgs, opts?: pulumi.ComponentResourceOptions) {
    super('gke-batch:infra:PubsubQueue', name, {}, opts);
    const plan = args.plan;
    const project = plan.project;
    const child = { parent: this };

    if (plan.create) {
      this.deadTopic = new gcp.pubsub.Topic(`${name}-dead-topic`, { project, name: plan.deadLetter }, child);
      this.topic = new gcp.pubsub.Topic(`${name}-topic`, { project, name: plan.topic }, child);
      // Never expiring: by default a subscription nobody pulls for 31 days is deleted, tasks and all.
      const lasting = { messageRetentionDuration: plan.retention, expirationPolicy: { ttl: '' } };
      this.deadSubscription = new gcp.pubsub.Subscription(
        `${name}-dead-subscription`,
        { project, name: plan.deadLetter, topic: this.deadTopic.name, ackDeadlineSeconds: 60, ...lasting },
        child,
      );
      this.subscription = new gcp.pubsub.Subscription(
        `${name}-subscription`,
        {
          project,
          name: plan.subscription,
          topic: this.topic.name,
          ackDeadlineSeconds: plan.ackDeadlineSeconds,
          ...lasting,
          deadLetterPolicy: { deadLetterTopic: plan.deadTopicName, maxDeliveryAttempts: plan.maxDeliveryAttempts },
        },
        // The policy names the dead-letter topic, which must exist first.
        { ...child, dependsOn: [this.deadTopic] },
      );
    }

    // The service agent is named by the project's number, which only the API knows.
    const projectNumber = gcp.organizations.getProjectOutput({ projectId: project }, child).number;
    this.serviceAgent = projectNumber.apply(pubsubServiceAgent);
    const on = {
      topic: this.topic?.name ?? plan.topic,
      subscription: this.subscription?.name ?? plan.subscription,
      deadTopic: this.deadTopic?.name ?? plan.deadLetter,
      deadSubscription: this.deadSubscription?.name ?? plan.deadLetter,
    };
    this.grants = pubsubGrants(SERVICE_AGENT, WORKERS, plan.operators).map((grant) => {
      const member =
        grant.member === SERVICE_AGENT
          ? this.serviceAgent
          : grant.member === WORKERS
            ? args.workersMember
            : grant.member;
      const inputs = { project, role: grant.role, member };
      return grant.on === 'topic' || grant.on === 'deadTopic'
        ? new gcp.pubsub.TopicIAMMember(`${name}-${grant.name}`, { ...inputs, topic: on[grant.on] }, child)
        : new gcp.pubsub.SubscriptionIAMMember(
            `${name}-${grant.name}`,
            { ...inputs, subscription: on[grant.on] },
            child,
          );
    });
    this.registerOutputs({ serviceAgent: this.serviceAgent });
  }
}
