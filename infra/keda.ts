/**
 * Continuous mode: the workers are a Deployment whose replica count follows the SQS queue through
 * KEDA (https://keda.sh). `Keda` installs KEDA from its Helm chart at a pinned version;
 * `SqsQueueScaler` declares the ScaledObject on the Deployment and the TriggerAuthentication that
 * gives KEDA the workers' own AWS credentials (the same Kubernetes Secret).
 *
 * KEDA counts visible and in-flight messages (`scaleOnInFlight`), so a worker busy with a long task
 * still counts as needed and is not scaled away mid-task; it scales to zero `cooldownSeconds` after
 * the queue is completely empty. Workers that are scaled away get SIGTERM and release their tasks.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';

/** KEDA's Helm chart version (chart and app versions are equal). 2.20 is tested on Kubernetes 1.33–1.35. */
export const KEDA_CHART_VERSION = '2.20.2';
/** The KEDA project's official chart repository. */
export const KEDA_CHART_REPO = 'https://kedacore.github.io/charts';
/** Namespace KEDA is installed into. */
export const KEDA_NAMESPACE = 'keda';

/** Defaults KEDA itself uses for the trigger and the ScaledObject. */
export const DEFAULT_QUEUE_LENGTH = 5;
export const DEFAULT_POLLING_INTERVAL_SECONDS = 30;
export const DEFAULT_COOLDOWN_SECONDS = 300;

/** Parts of an SQS queue URL, `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
export interface SqsQueueAddress {
  readonly region: string;
  readonly accountId: string;
  readonly name: string;
}

/**
 * Reads the region, account and name from an SQS queue URL (the current `sqs.<region>` form and
 * the legacy `<region>.queue` form). Undefined for anything else, including `sqs://NAME`, which
 * KEDA cannot resolve without the account.
 */
export function parseSqsQueueUrl(url: string): SqsQueueAddress | undefined {
  const match =
    /^https:\/\/(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)\/?$/.exec(
      url.trim(),
    );
  if (!match) return undefined;
  return { region: match[1] ?? match[2], accountId: match[3], name: match[4] };
}

export interface KedaArgs {
  /** Chart version to install; pinned so a redeploy never upgrades KEDA by surprise. Default {@link KEDA_CHART_VERSION}. */
  readonly chartVersion?: pulumi.Input<string>;
  /** Helm repository holding the `keda` chart. Default {@link KEDA_CHART_REPO}. */
  readonly chartRepo?: pulumi.Input<string>;
  /** Namespace to install into (created). Default {@link KEDA_NAMESPACE}. */
  readonly namespace?: string;
  /** Node selector for KEDA's own pods: an always-on pool, not the workers' pool that scales to zero. */
  readonly nodeSelector?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Tolerations for KEDA's own pods. */
  readonly tolerations?: pulumi.Input<pulumi.Input<k8s.types.input.core.v1.Toleration>[]>;
}

/** KEDA, installed from its Helm chart. */
export class Keda extends pulumi.ComponentResource {
  /** The Helm release; everything that uses KEDA's custom resources depends on it (it installs their CRDs). */
  public readonly release: k8s.helm.v3.Release;
  /** Namespace KEDA runs in. */
  public readonly namespace: pulumi.Output<string>;
  /** Installed chart version. */
  public readonly chartVersion: pulumi.Output<string>;

  constructor(name: string, args: KedaArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    super('gke-batch:scaling:Keda', name, {}, opts);
    const namespace = args.namespace ?? KEDA_NAMESPACE;
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: 'keda',
        chart: 'keda',
        version: args.chartVersion ?? KEDA_CHART_VERSION,
        repositoryOpts: { repo: args.chartRepo ?? KEDA_CHART_REPO },
        namespace,
        createNamespace: true,
        // KEDA's pods must be scheduled before the release counts as ready; nodes may be scaling up.
        timeout: 600,
        values: {
          nodeSelector: args.nodeSelector ?? {},
          tolerations: args.tolerations ?? [],
        },
      },
      { parent: this },
    );
    this.namespace = this.release.namespace;
    this.chartVersion = this.release.version;
    this.registerOutputs({ namespace: this.namespace, chartVersion: this.chartVersion });
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

export interface SqsQueueScalerArgs {
  /** KEDA, installed by this stack; the scaler waits for its release. */
  readonly keda: Keda;
  /** Namespace of the Deployment and the Secret. */
  readonly namespace: pulumi.Input<string>;
  /** Name of the worker Deployment to scale. */
  readonly deploymentName: pulumi.Input<string>;
  /** Full SQS queue URL, `https://sqs.<region>.amazonaws.com/<account>/<name>`. */
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
  /** The workers' AWS credentials, reused by KEDA to read the queue's size. */
  readonly credentials: AwsCredentialsSecret;
}

/** Checks the numbers and the queue URL; returns the region to use. Throws one error listing every problem. */
export function checkScalerArgs(
  args: Omit<SqsQueueScalerArgs, 'keda' | 'namespace' | 'deploymentName' | 'credentials'>,
): string {
  const problems: string[] = [];
  const address = parseSqsQueueUrl(args.queueUrl);
  if (!address)
    problems.push(`queue ${args.queueUrl} is not an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)`);
  const min = args.minReplicas ?? 0;
  const wholeAtLeast = (value: number, least: number) => Number.isInteger(value) && value >= least;
  if (!wholeAtLeast(min, 0)) problems.push(`minReplicas must be a whole number ≥ 0, got ${min}`);
  if (!wholeAtLeast(args.maxReplicas, 1))
    problems.push(`maxReplicas must be a whole number ≥ 1, got ${args.maxReplicas}`);
  else if (args.maxReplicas < min) problems.push(`maxReplicas ${args.maxReplicas} is below minReplicas ${min}`);
  if (args.queueLength !== undefined && !wholeAtLeast(args.queueLength, 1))
    problems.push(`queueLength must be a whole number ≥ 1, got ${args.queueLength}`);
  if (problems.length > 0) throw new Error(`SQS queue scaler: ${problems.join('; ')}`);
  return args.awsRegion ?? address!.region; // address is set: a missing one is a problem above
}

/** The ScaledObject and TriggerAuthentication that let KEDA size the worker Deployment by the queue. */
export class SqsQueueScaler extends pulumi.ComponentResource {
  public readonly triggerAuthentication: k8s.apiextensions.CustomResource;
  public readonly scaledObject: k8s.apiextensions.CustomResource;
  /** Name of the HorizontalPodAutoscaler KEDA creates (`kubectl get hpa`). */
  public readonly hpaName: pulumi.Output<string>;

  constructor(name: string, args: SqsQueueScalerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('gke-batch:scaling:SqsQueueScaler', name, {}, opts);
    const awsRegion = checkScalerArgs(args);
    const credentials = args.credentials;
    const secretRef = (parameter: string, key: string) => ({ parameter, name: credentials.secretName, key });
    const dependsOn = [args.keda.release];

    this.triggerAuthentication = new k8s.apiextensions.CustomResource(
      `${name}-auth`,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: pulumi.interpolate`${args.deploymentName}-sqs`, namespace: args.namespace },
        spec: {
          secretTargetRef: [
            secretRef('awsAccessKeyID', credentials.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID'),
            secretRef('awsSecretAccessKey', credentials.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY'),
            ...(credentials.sessionTokenKey ? [secretRef('awsSessionToken', credentials.sessionTokenKey)] : []),
          ],
        },
      },
      { parent: this, dependsOn },
    );

    this.scaledObject = new k8s.apiextensions.CustomResource(
      `${name}-scaledobject`,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: args.deploymentName, namespace: args.namespace },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: args.deploymentName },
          minReplicaCount: args.minReplicas ?? 0,
          maxReplicaCount: args.maxReplicas,
          pollingInterval: args.pollingIntervalSeconds ?? DEFAULT_POLLING_INTERVAL_SECONDS,
          cooldownPeriod: args.cooldownSeconds ?? DEFAULT_COOLDOWN_SECONDS,
          triggers: [
            {
              type: 'aws-sqs-queue',
              authenticationRef: { name: this.triggerAuthentication.metadata.name },
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
      },
      { parent: this, dependsOn },
    );

    this.hpaName = pulumi.interpolate`keda-hpa-${this.scaledObject.metadata.name}`;
    this.registerOutputs({ hpaName: this.hpaName });
  }
}

/**
 * Options for the worker Deployment once KEDA owns its replica count: Pulumi creates it with
 * `replicas: 0` and then leaves `spec.replicas` alone, so a `pulumi up` never fights the autoscaler.
 */
export function kedaOwnedDeploymentOptions(opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { ...opts, ignoreChanges: [...(opts.ignoreChanges ?? []), 'spec.replicas'] };
}

/** The replica count a KEDA-owned Deployment is created with: none until KEDA sees tasks. */
export const KEDA_INITIAL_REPLICAS = 0;
