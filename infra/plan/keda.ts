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
import { DEFAULT_QUEUE_LENGTH } from './defaults';
import { replicaProblems, scaledObject, type ReplicaSettings } from './scaledObject';
import type { SqsQueueAddress } from './types';

export type { SqsQueueAddress } from './types';

/** An SQS-compatible server (aws.endpoint) KEDA reads instead of AWS, in the given region. */
export interface CustomSqsEndpoint {
  readonly region: string;
}

/**
 * Region, account and name of a full SQS queue URL (KEDA needs all three); undefined for sqs://NAME.
 * An AWS host names the region; the URL of an SQS-compatible server (LocalStack, ElasticMQ, ...)
 * does not, so it is accepted only with that server's `endpoint` and takes the region from there.
 */
export function sqsQueueAddress(location: QueueLocation, endpoint?: CustomSqsEndpoint): SqsQueueAddress | undefined {
  if (location.kind !== 'sqs' || !location.queueUrl) return undefined;
  const { queueUrl: url, name } = location;
  if (location.region && location.accountId)
    return { url, region: location.region, accountId: location.accountId, name };
  // lib/urls accepts a full URL only as ORIGIN/ACCOUNT/NAME, so the account is the path's first segment.
  const accountId = new URL(url).pathname.split('/')[1];
  return endpoint && accountId ? { url, region: endpoint.region, accountId, name } : undefined;
}

/** {@link sqsQueueAddress} of a URL, by lib/urls' grammar; undefined for anything KEDA cannot watch. */
export function parseSqsQueueUrl(url: string, endpoint?: CustomSqsEndpoint): SqsQueueAddress | undefined {
  try {
    return sqsQueueAddress(parseQueueUrl(url), endpoint);
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

export interface ScalerSettings extends ReplicaSettings {
  /** Full SQS queue URL: `https://sqs.<region>.amazonaws.com/<account>/<name>` (or the legacy host). */
  readonly queueUrl: string;
  /** AWS region of the queue. Default: read from `queueUrl`. */
  readonly awsRegion?: string;
  /** Messages (visible + in flight) per worker KEDA aims for. Default {@link DEFAULT_QUEUE_LENGTH}. */
  readonly queueLength?: number;
  /** An SQS-compatible endpoint instead of AWS's (the workers' AWS_ENDPOINT_URL), which KEDA must read too. */
  readonly awsEndpoint?: string;
}

/** Checks the numbers and the queue URL; returns the region to use. Throws one error listing every problem. */
export function checkScalerArgs(args: ScalerSettings): string {
  const problems: string[] = [];
  const custom = args.awsEndpoint && args.awsRegion ? { region: args.awsRegion } : undefined;
  const address = parseSqsQueueUrl(args.queueUrl, custom);
  if (!address)
    problems.push(
      `queue ${args.queueUrl} is not an SQS queue URL KEDA can watch ` +
        `(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, standard queues only; another server's ` +
        `ORIGIN/ACCOUNT/NAME together with awsEndpoint and awsRegion)`,
    );
  problems.push(...replicaProblems(args));
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
  return scaledObject(deploymentName, namespace, args, {
    type: 'aws-sqs-queue',
    authenticationRef: { name: authenticationName },
    metadata: {
      queueURL: args.queueUrl,
      awsRegion,
      queueLength: String(args.queueLength ?? DEFAULT_QUEUE_LENGTH),
      // Count leased (in-flight) tasks too, so busy workers are not scaled away.
      scaleOnInFlight: 'true',
      ...(args.awsEndpoint ? { awsEndpoint: args.awsEndpoint } : {}),
    },
  });
}
