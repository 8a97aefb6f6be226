/**
 * What the two KEDA scalers (SQS: ./keda.ts, Pub/Sub: ./kedaPubsub.ts) share: the checks of the
 * replica numbers and the ScaledObject around their one trigger. Pure.
 */
import type * as pulumi from '@pulumi/pulumi';
import { DEFAULT_COOLDOWN_SECONDS, DEFAULT_POLLING_INTERVAL_SECONDS } from './defaults';

/** The numbers every scaler takes. */
export interface ReplicaSettings {
  /** Tasks per worker KEDA aims for. */
  readonly queueLength?: number;
  /** Fewest workers. Default 0: nothing runs while the queue is empty. */
  readonly minReplicas?: number;
  /** Most workers: the smaller of the configured maximum and what the node pools can hold. */
  readonly maxReplicas: number;
  /** Seconds between queue checks. Default {@link DEFAULT_POLLING_INTERVAL_SECONDS}. */
  readonly pollingIntervalSeconds?: number;
  /** Seconds the queue must stay empty before scaling to zero. Default {@link DEFAULT_COOLDOWN_SECONDS}. */
  readonly cooldownSeconds?: number;
}

/** Every problem with the replica numbers and the queue length, one phrase each. */
export function replicaProblems(args: ReplicaSettings): string[] {
  const problems: string[] = [];
  const min = args.minReplicas ?? 0;
  const wholeAtLeast = (value: number, least: number) => Number.isInteger(value) && value >= least;
  if (!wholeAtLeast(min, 0)) problems.push(`minReplicas must be a whole number ≥ 0, got ${min}`);
  if (!wholeAtLeast(args.maxReplicas, 1))
    problems.push(`maxReplicas must be a whole number ≥ 1, got ${args.maxReplicas}`);
  else if (args.maxReplicas < min) problems.push(`maxReplicas ${args.maxReplicas} is below minReplicas ${min}`);
  if (args.queueLength !== undefined && !wholeAtLeast(args.queueLength, 1))
    problems.push(`queueLength must be a whole number ≥ 1, got ${args.queueLength}`);
  return problems;
}

/** The ScaledObject sizing `deploymentName` with `trigger`, from `minReplicas` (0) to `maxReplicas`. */
export function scaledObject<Trigger>(
  deploymentName: pulumi.Input<string>,
  namespace: pulumi.Input<string>,
  args: ReplicaSettings,
  trigger: Trigger,
) {
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
      triggers: [trigger],
    },
  };
}
