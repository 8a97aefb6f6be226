/**
 * Continuous mode's KEDA objects as plain manifests: the ScaledObject on the worker Deployment and
 * the TriggerAuthentication that gives KEDA the workers' own AWS credentials. Pure; the queue URL
 * is read by lib/urls' one grammar (FIFO refused, the legacy `REGION.queue.amazonaws.com` host
 * accepted), so the scaler takes exactly the URLs the workers take.
 *
 * KEDA counts visible and in-flight messages (`scaleOnInFlight`), so a worker busy with a long task
 * still counts as needed and is not scaled away mid-task; it scales to zero `cooldownSeconds` after
 * the queue is completely empty.
 */
import type * as pulumi from '@pulumi/pulumi';
import { isUserFacingError } from '../../lib/errors';
import { parseQueueUrl, QueueLocation } from '../../lib/urls/queue';
import { DEFAULT_COOLDOWN_SECONDS, DEFAULT_POLLING_INTERVAL_SECONDS, DEFAULT_QUEUE_LENGTH } from './defaults';
import type { SqsQueueAddress } from './types';

export type { SqsQueueAddress } from './types';

/** Region, account and name of an AWS SQS queue URL; undefined for sqs://NAME or a custom endpoint (KEDA needs both).
 * */
export function sqsQueueAddress(location: QueueLocation): SqsQueueAddress | undefined {
  if (location.kind !== 'sqs' || !location.queueUrl || !location.region || !location.accountId) return undefined;
  return { url: location.queueUrl, region: location.region, accountId: location.accountId, name: location.name };
}

/** {@link sqsQueueAddress} of a URL, by lib/urls' grammar; undefined for anything KEDA cannot watch. */
export function parseSqsQueueUrl(url: string): SqsQueueAddress | undefined {
  try {
    return sqsQueueAddress(parseQueueUrl(url));
  } catch (error) {
    if (isUserFacingError(error)) return undefined;
    throw error;
  }
}

/** Where the AWS credentials live: the workers' Secret and its keys. */
export interface AwsCredentialsSecret {
  /** Name of the Secret (in the workers' namespace). */
  readonly secretName: pulumi.Input<string>;
  /** Key holding the access key id. Default `AWS_ACCESS_KEY_ID`. */
  readonly accessKeyIdKey?: string;
  /** Key holding the secret access key. Default `AWS_SECRET_ACCESS_KEY`. */
  readonly secretAccessKeyKey?: string;
  /** Key holding a session token, for temporary credentials only. */
  readonly sessionTokenKey?: string;
}

export interface ScalerSettings {
  /** Full SQS queue URL: `https://sqs.<region>.amazonaws.com/<account>/<name>` (or the legacy host). */
  readonly queueUrl: string;
  /** AWS region of the queue. Default: read from `queueUrl`. */
  readonly awsRegion?: string;
  /** Messages (visible + in flight) per worker KEDA aims for. Default {@link DEFAULT_QUEUE_LENGTH}. */
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

/** Checks the numbers and the queue URL; returns the region to use. Throws one error listing every problem. */
export function checkScalerArgs(args: ScalerSettings): string {
  const problems: string[] = [];
  const address = parseSqsQueueUrl(args.queueUrl);
  if (!address)
    problems.push(
      `queue ${args.queueUrl} is not an AWS SQS queue URL KEDA can watch ` +
        `(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, standard queues only)`,
    );
  const min = args.minReplicas ?? 0;
  const wholeAtLeast = (value: number, least: number) => Number.isInteger(value) && value >= least;
  if (!wholeAtLeast(min, 0)) problems.push(`minReplicas must be a whole number ≥ 0, got ${min}`);
  if (!wholeAtLeast(args.maxReplicas, 1))
    problems.push(`maxReplicas must be a whole number ≥ 1, got ${args.maxReplicas}`);
  else if (args.maxReplicas < min) problems.push(`maxReplicas ${args.maxReplicas} is below minReplicas ${min}`);
  if (args.queueLength !== undefined && !wholeAtLeast(args.queueLength, 1))
    problems.push(`queueLength must be a whole number ≥ 1, got ${args.queueLength}`);
  if (problems.length > 0 || !address) throw new Error(`SQS queue scaler: ${problems.join('; ')}`);
  return args.awsRegion ?? address.region;
}

/** The TriggerAuthentication: KEDA reads the queue with the workers' own AWS Secret. */
export function triggerAuthenticationManifest(
  name: pulumi.Input<string>,
  namespace: pulumi.Input<string>,
  credentials: AwsCredentialsSecret,
) {
  const secretRef = (parameter: string, key: string) => ({ parameter, name: credentials.secretName, key });
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    metadata: { name, namespace },
    spec: {
      secretTargetRef: [
        secretRef('awsAccessKeyID', credentials.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID'),
        secretRef('awsSecretAccessKey', credentials.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY'),
        ...(credentials.sessionTokenKey ? [secretRef('awsSessionToken', credentials.sessionTokenKey)] : []),
      ],
    },
  };
}

/** The ScaledObject sizing `deploymentName` by the queue, from `minReplicas` (0) to `maxReplicas`. */
export function scaledObjectManifest(
  deploymentName: pulumi.Input<string>,
  namespace: pulumi.Input<string>,
  authenticationName: pulumi.Input<string>,
  args: ScalerSettings,
) {
  const awsRegion = checkScalerArgs(args);
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
          type: 'aws-sqs-queue',
          authenticationRef: { name: authenticationName },
          metadata: {
            queueURL: args.queueUrl,
            awsRegion,
            queueLength: String(args.queueLength ?? DEFAULT_QUEUE_LENGTH),
            // Count leased (in-flight) tasks too, so busy workers are not scaled away.
            scaleOnInFlight: 'true',
          },
        },
      ],
    },
  };
}
