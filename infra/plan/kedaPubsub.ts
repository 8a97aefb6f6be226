/**
 * Continuous mode on a Pub/Sub queue: KEDA's `gcp-pubsub` trigger reads the subscription's
 * backlog from Cloud Monitoring (`subscription/num_undelivered_messages`: waiting plus leased,
 * unacknowledged tasks, so busy workers still count; 1–2 min behind) with KEDA's own identity
 * (`podIdentity.provider: gcp`: the operator's Kubernetes service account, bound through Workload
 * Identity to a Google service account with roles/monitoring.viewer). No keys anywhere. Pure.
 */
import type * as pulumi from '@pulumi/pulumi';
import { DEFAULT_QUEUE_LENGTH } from './defaults';
import { replicaProblems, scaledObject, type ReplicaSettings } from './scaledObject';

/** The Kubernetes service account KEDA's chart gives its operator (the pod that queries the scalers). */
export const KEDA_OPERATOR_SERVICE_ACCOUNT = 'keda-operator';

/** The trigger's metric: the subscription's backlog (KEDA's name for num_undelivered_messages). */
export const PUBSUB_SCALER_MODE = 'SubscriptionSize';

export interface PubsubScalerSettings extends ReplicaSettings {
  /** Full subscription name, projects/P/subscriptions/S (the project may differ from KEDA's). */
  readonly subscriptionName: string;
  /** Unacknowledged tasks per worker KEDA aims for. Default {@link DEFAULT_QUEUE_LENGTH}. */
  readonly queueLength?: number;
}

/** Throws one error listing every problem with the numbers and the subscription name. */
export function checkPubsubScalerArgs(args: PubsubScalerSettings): void {
  const problems: string[] = [];
  if (!/^projects\/[^/]+\/subscriptions\/[^/]+$/.test(args.subscriptionName))
    problems.push(`subscriptionName ${args.subscriptionName} is not projects/PROJECT/subscriptions/NAME`);
  problems.push(...replicaProblems(args));
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
  return scaledObject(deploymentName, namespace, args, {
    type: 'gcp-pubsub',
    authenticationRef: { name: authenticationName },
    metadata: {
      subscriptionName: args.subscriptionName,
      mode: PUBSUB_SCALER_MODE,
      value: String(args.queueLength ?? DEFAULT_QUEUE_LENGTH),
    },
  });
}
