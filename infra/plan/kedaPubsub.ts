/**
 * Continuous mode on a Pub/Sub queue: KEDA's `gcp-pubsub` trigger reads the subscription's
 * backlog from Cloud Monitoring (`subscription/num_undelivered_messages`: waiting plus leased,
 * unacknowledged tasks, so busy workers still count; 1–2 min behind) with KEDA's own identity
 * (`podIdentity.provider: gcp`: the operator's Kubernetes service account, bound through Workload
 * Identity to a Google service account with roles/monitoring.viewer). No keys anywhere. Pure.
 */
import type * as pulumi from '@pulumi/pulumi';
import { DEFAULT_COOLDOWN_SECONDS, DEFAULT_POLLING_INTERVAL_SECONDS, DEFAULT_QUEUE_LENGTH } from './defaults';

/** The Kubernetes service account KEDA's chart gives its operator (the pod that queries the scalers). */
export const KEDA_OPERATOR_SERVICE_ACCOUNT = 'keda-operator';

/** The trigger's metric: the subscription's backlog (KEDA's name for num_undelivered_messages). */
export const PUBSUB_SCALER_MODE = 'SubscriptionSize';

export interface PubsubScalerSettings {
  /** Full subscription name, projects/P/subscriptions/S (the project may differ from KEDA's). */
  readonly subscriptionName: string;
  /** Unacknowledged tasks per worker KEDA aims for. Default {@link DEFAULT_QUEUE_LENGTH}. */
  readonly queueLength?: number;
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  readonly pollingIntervalSeconds?: number;
  readonly cooldownSeconds?: number;
}

/** Throws one error listing every problem with the numbers and the subscription name. */
export function checkPubsubScalerArgs(args: PubsubScalerSettings): void {
  const problems: string[] = [];
  if (!/^projects\/[^/]+\/subscriptions\/[^/]+$/.test(args.subscriptionName))
    problems.push(`subscriptionName ${args.subscriptionName} is not projects/PROJECT/subscriptions/NAME`);
  const min = args.minReplicas ?? 0;
  const whole = (value: number, least: number) => Number.isInteger(value) && value >= least;
  if (!whole(min, 0)) problems.push(`minReplicas must be a whole number ≥ 0, got ${min}`);
  if (!whole(args.maxReplicas, 1)) problems.push(`maxReplicas must be a whole number ≥ 1, got ${args.maxReplicas}`);
  else if (args.maxReplicas < min) problems.push(`maxReplicas ${args.maxReplicas} is below minReplicas ${min}`);
  if (args.queueLength !== undefined && !whole(args.queueLength, 1))
    problems.push(`queueLength must be a whole number ≥ 1, got ${args.queueLength}`);
  if (problems.length > 0) throw new Error(`Pub/Sub queue scaler: ${problems.join('; ')}`);
}

/** The TriggerAuthentication: KEDA authenticates as itself (Workload Identity), with no Secret. */
export function gcpPodIdentityTriggerAuthentication(name: pulumi.Input<string>, namespace: pulumi.Input<string>) {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    metadata: { name, namespace },
    spec: { podIdentity: { provider: 'gcp' } },
  };
}

/** The ScaledObject sizing the worker Deployment by the subscription's backlog. */
export function pubsubScaledObjectManifest(
  deploymentName: pulumi.Input<string>,
  namespace: pulumi.Input<string>,
  authenticationName: pulumi.Input<string>,
  args: PubsubScalerSettings,
) {
  checkPubsubScalerArgs(args);
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: deploymentName, namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName },
      minReplicaCount: args.minReplicas ?? 0,
      maxReplicaCount: args.maxReplicas,
      pollingInterval: args.pollingIntervalSeconds ?? DEFAULT_POLLING_INTERVAL_SECONDS,
      cooldownPeriod: args.cooldownSeconds ?? DEFAULT_COOLDOWN_SECONDS,
      triggers: [
        {
          type: 'gcp-pubsub',
          authenticationRef: { name: authenticationName },
          metadata: {
            subscriptionName: args.subscriptionName,
            mode: PUBSUB_SCALER_MODE,
            value: String(args.queueLength ?? DEFAULT_QUEUE_LENGTH),
          },
        },
      ],
    },
  };
}
