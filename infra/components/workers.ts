/**
 * Workers: everything the worker pods need inside and around the cluster: a namespace, a Kubernetes
 * service account bound through Workload Identity to a Google service account that may write the
 * output bucket (and use the Pub/Sub queue), a Secret with the AWS keys where AWS is used (SQS,
 * S3; none for Pub/Sub and gs://), and the workload that runs the worker pod template: in drain
 * mode a Job whose workers exit when the queue is empty, in continuous mode a Deployment that KEDA
 * scales with the queue (docs/scaling.md).
 */
import { createHash } from 'node:crypto';
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { KEDA_INITIAL_REPLICAS, WORKER_HEALTH_PORT } from '../plan/defaults';
import { K8S_NAMES, serviceAccountId } from '../plan/names';
import type { NodePool, Scaling, Workers as WorkersConfig } from '../plan/types';
import { WorkerPodTemplateSpec, workerLabels, workerPodTemplate } from '../plan/workerPod';
import { createDrainJob } from './drainJob';
import { Keda, kedaOwnedDeploymentOptions, SqsQueueScaler } from './keda';
import { KedaGcpIdentity, PubsubQueueScaler } from './kedaPubsub';
import { PubsubQueue } from './pubsubQueue';
import type { PubsubQueuePlan } from '../plan/pubsub';

/** Pod annotation carrying a hash of the AWS keys: a rotation rolls the Deployment's pods onto the new keys. */
export const AWS_SECRET_CHECKSUM_ANNOTATION = 'gke-batch/aws-credentials-sha256';

/** A continuous-mode pod the autoscaler must not evict to compact nodes: it would abort running tasks. */
export const SAFE_TO_EVICT_ANNOTATION = 'cluster-autoscaler.kubernetes.io/safe-to-evict';

/**
 * The workers' namespace admits only pods meeting Pod Security's "restricted" profile (the worker
 * pod does: non-root, read-only root, no privilege escalation, all capabilities dropped, seccomp).
 */
export const NAMESPACE_LABELS = {
  'app.kubernetes.io/part-of': 'gke-batch',
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
} as const;

/** Read and write objects in the output bucket, nothing more (no bucket or IAM changes). */
export const OUTPUT_BUCKET_ROLE = 'roles/storage.objectUser';

export interface WorkersArgs {
  /** Kubernetes provider of the cluster. */
  readonly provider: k8s.Provider;
  /** GCP project id (the Google service account lives there). */
  readonly project: string;
  /** Cluster name, prefix of the Google service account id. */
  readonly clusterName: string;
  /**
   * The cluster's Workload Identity pool, "PROJECT.svc.id.goog" (an output, so the binding waits for
   * the cluster). Undefined for a cluster without one (existingCluster): then no Google service
   * account, binding or bucket grant is created.
   */
  readonly workloadPool?: pulumi.Input<string>;
  /** Worker image reference, by digest. */
  readonly image: pulumi.Input<string>;
  /** Worker settings: requests, limits, replicas, task settings, namespace. */
  readonly workers: WorkersConfig;
  /** The node pool the workers run on. */
  readonly pool: NodePool;
  /** The queue setting: an SQS or a Pub/Sub queue. */
  readonly queueUrl: string;
  /** A Pub/Sub queue: created (or only granted on) here, reached by Workload Identity. */
  readonly pubsub?: PubsubQueuePlan;
  /** The output location setting. */
  readonly cloudpath: string;
  /** The gs:// bucket of the cloudpath, when outputs go to Cloud Storage. */
  readonly outputBucket?: string;
  /** AWS region and keys for SQS or S3 (the keys as Pulumi secrets); absent: no AWS Secret at all. */
  readonly aws?: {
    readonly region: string;
    readonly endpoint?: string;
    readonly accessKeyId: pulumi.Input<string>;
    readonly secretAccessKey: pulumi.Input<string>;
  };
  /** Drain (a Job) or continuous (a KEDA-scaled Deployment), with the most workers. */
  readonly scaling: Scaling;
  /** continuous: the always-on pool KEDA's own pods run on (undefined: wherever they fit). */
  readonly systemPool?: string;
  /** Nodes the workers run on instead of the pool's (existingCluster.nodeSelector). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
}

export class Workers extends pulumi.ComponentResource {
  public readonly namespace: pulumi.Output<string>;
  public readonly serviceAccountName: pulumi.Output<string>;
  /** The Secret with the AWS keys, where AWS is used. */
  public readonly awsSecretName?: pulumi.Output<string>;
  /** The Pub/Sub queue's resources and grants. */
  public readonly pubsubQueue?: PubsubQueue;
  /** continuous on Pub/Sub: KEDA's Google identity. */
  public readonly kedaIdentity?: KedaGcpIdentity;
  public readonly googleServiceAccount?: gcp.serviceaccount.Account;
  /** The pod template the workload runs. */
  public readonly podTemplate: WorkerPodTemplateSpec;
  /** drain: the Job of this run. */
  public readonly job?: k8s.batch.v1.Job;
  /** continuous: the Deployment KEDA scales. */
  public readonly deployment?: k8s.apps.v1.Deployment;
  /** continuous: KEDA and the scaler on the queue. */
  public readonly keda?: Keda;
  public readonly scaler?: SqsQueueScaler | PubsubQueueScaler;
  /** The most workers at once (the Job's parallelism, KEDA's maximum). */
  public readonly replicas: number;

  constructor(name: string, args: WorkersArgs, opts?: pulumi.ComponentResourceOptions) {
    super('gke-batch:infra:Workers', name, {}, opts);
    const k8sOpts = { parent: this, provider: args.provider };

    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: args.workers.namespace, labels: NAMESPACE_LABELS } },
      k8sOpts,
    );
    this.namespace = namespace.metadata.name;

    const grants: pulumi.Resource[] = [];
    if (args.workloadPool !== undefined) {
      this.googleServiceAccount = this.googleIdentity(name, args, args.workloadPool, grants);
    }
    const gsaEmail = this.googleServiceAccount?.email;

    if (args.pubsub) {
      // Validation refuses Pub/Sub without a GKE cluster's Workload Identity (checkExistingCluster.ts).
      requireWorkloadPool(args.workloadPool);
      this.pubsubQueue = new PubsubQueue(
        `${name}-pubsub`,
        { plan: args.pubsub, workersMember: pulumi.interpolate`serviceAccount:${gsaEmail}` },
        { parent: this },
      );
      grants.push(...this.pubsubQueue.grants);
    }

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-ksa`,
      {
        metadata: {
          name: K8S_NAMES.serviceAccount,
          namespace: this.namespace,
          ...(gsaEmail ? { annotations: { 'iam.gke.io/gcp-service-account': gsaEmail } } : {}),
        },
      },
      k8sOpts,
    );
    this.serviceAccountName = serviceAccount.metadata.name;

    const continuous = args.scaling.mode === 'continuous';
    let awsEnv: { region: string; secretName: pulumi.Output<string>; endpoint?: string } | undefined;
    const annotations: Record<string, pulumi.Input<string>> = {};
    if (args.aws) {
      const secret = new k8s.core.v1.Secret(
        `${name}-aws`,
        {
          metadata: { name: K8S_NAMES.awsSecret, namespace: this.namespace },
          type: 'Opaque',
          stringData: {
            AWS_ACCESS_KEY_ID: pulumi.secret(args.aws.accessKeyId),
            AWS_SECRET_ACCESS_KEY: pulumi.secret(args.aws.secretAccessKey),
          },
        },
        k8sOpts,
      );
      this.awsSecretName = secret.metadata.name;
      awsEnv = { region: args.aws.region, secretName: this.awsSecretName, endpoint: args.aws.endpoint };
      // A hash, not the keys: it changes when they do and reveals nothing of 40 random characters,
      // so it is shown in plain text (a secret annotation would hide the whole pod spec in diffs).
      // Drain Jobs cannot change their pod template in place: new pods read the updated Secret anyway.
      if (continuous) {
        annotations[AWS_SECRET_CHECKSUM_ANNOTATION] = pulumi.unsecret(
          pulumi
            .all([args.aws.accessKeyId, args.aws.secretAccessKey])
            .apply(([id, key]) => createHash('sha256').update(`${id}\0${key}`).digest('hex')),
        );
      }
    }
    if (continuous) annotations[SAFE_TO_EVICT_ANNOTATION] = 'false';
    this.podTemplate = workerPodTemplate({
      annotations: continuous ? annotations : undefined,
      image: args.image,
      workers: args.workers,
      pool: args.pool,
      queueUrl: args.queueUrl,
      cloudpath: args.cloudpath,
      aws: awsEnv,
      nodeSelector: args.nodeSelector,
      serviceAccountName: this.serviceAccountName,
      healthzLivenessPort: WORKER_HEALTH_PORT,
    });
    const scaling = args.scaling;
    this.replicas = scaling.maxWorkers;

    if (scaling.mode === 'drain') {
      this.job = createDrainJob(
        `${name}-job`,
        {
          namespace: this.namespace,
          baseName: K8S_NAMES.job,
          runId: scaling.run,
          parallelism: scaling.maxWorkers,
          backoffLimit: scaling.backoffLimit,
          graceSeconds: args.workers.graceSeconds,
          pod: {
            labels: this.podTemplate.metadata.labels,
            spec: this.podTemplate.spec,
            workerContainer: K8S_NAMES.container,
          },
        },
        { ...k8sOpts, dependsOn: grants },
      );
    } else {
      this.deployment = new k8s.apps.v1.Deployment(
        `${name}-deployment`,
        {
          metadata: {
            name: K8S_NAMES.deployment,
            namespace: this.namespace,
            labels: workerLabels(),
          },
          spec: {
            // KEDA sets the count from here on; Pulumi never touches it again (ignoreChanges).
            replicas: KEDA_INITIAL_REPLICAS,
            selector: { matchLabels: workerLabels() },
            // The pool is sized for the replicas: a surge pod would only wait for a node that never comes.
            strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '25%' } },
            template: this.podTemplate,
          },
        },
        // Awaited, so a rollout that crash-loops fails `pulumi up` with the pods' state; pods may
        // wait minutes for the autoscaler to add nodes, hence the long timeout.
        kedaOwnedDeploymentOptions({
          ...k8sOpts,
          dependsOn: grants,
          customTimeouts: { create: '20m', update: '20m' },
        }),
      );
      const systemPool = args.systemPool ? { 'cloud.google.com/gke-nodepool': args.systemPool } : undefined;
      if (args.pubsub) {
        this.kedaIdentity = new KedaGcpIdentity(
          `${name}-keda-identity`,
          {
            project: args.project,
            monitoredProject: args.pubsub.project,
            clusterName: args.clusterName,
            workloadPool: requireWorkloadPool(args.workloadPool),
          },
          { parent: this },
        );
      }
      if (scaling.installKeda) {
        this.keda = new Keda(
          `${name}-keda`,
          {
            chartVersion: scaling.kedaChartVersion,
            chartRepo: scaling.kedaChartRepo,
            nodeSelector: systemPool,
            gcpServiceAccount: this.kedaIdentity?.email,
            after: this.kedaIdentity?.grants,
          },
          { parent: this, provider: args.provider },
        );
      }
      const common = {
        keda: this.keda,
        namespace: this.namespace,
        deploymentName: this.deployment.metadata.name,
        queueLength: scaling.queueLength,
        maxReplicas: scaling.maxWorkers,
        cooldownSeconds: scaling.cooldownSeconds,
      };
      const scalerOpts = { parent: this, provider: args.provider };
      if (args.pubsub) {
        this.scaler = new PubsubQueueScaler(
          `${name}-scaler`,
          { ...common, subscriptionName: args.pubsub.subscriptionName },
          scalerOpts,
        );
      } else if (args.aws && this.awsSecretName) {
        this.scaler = new SqsQueueScaler(
          `${name}-scaler`,
          {
            ...common,
            queueUrl: args.queueUrl,
            awsRegion: args.aws.region,
            ...(args.aws.endpoint ? { awsEndpoint: args.aws.endpoint } : {}),
            credentials: { secretName: this.awsSecretName },
          },
          scalerOpts,
        );
      } else {
        throw new Error(`continuous mode: queue ${args.queueUrl} is neither Pub/Sub nor SQS with AWS keys`);
      }
    }

    this.registerOutputs({
      namespace: this.namespace,
      serviceAccountName: this.serviceAccountName,
      replicas: this.replicas,
    });
  }

  /** Workload Identity: pods running as the KSA act as a Google service account that alone may touch the bucket. */
  private googleIdentity(
    name: string,
    args: WorkersArgs,
    workloadPool: pulumi.Input<string>,
    grants: pulumi.Resource[],
  ): gcp.serviceaccount.Account {
    const account = new gcp.serviceaccount.Account(
      `${name}-gsa`,
      {
        project: args.project,
        accountId: serviceAccountId(args.clusterName, 'workers'),
        displayName: `gke-batch workers of ${args.clusterName}`,
      },
      // A fixed account id: a replacement must not clash with the old account.
      { parent: this, deleteBeforeReplace: true },
    );
    const kubernetesServiceAccount = `${args.workers.namespace}/${K8S_NAMES.serviceAccount}`;
    const identityBinding = new gcp.serviceaccount.IAMMember(
      `${name}-workload-identity`,
      {
        serviceAccountId: account.name,
        role: 'roles/iam.workloadIdentityUser',
        member: pulumi.interpolate`serviceAccount:${workloadPool}[${kubernetesServiceAccount}]`,
      },
      { parent: this },
    );
    grants.push(identityBinding);
    if (args.outputBucket) {
      grants.push(
        new gcp.storage.BucketIAMMember(
          `${name}-output-bucket`,
          {
            bucket: args.outputBucket,
            role: OUTPUT_BUCKET_ROLE,
            member: pulumi.interpolate`serviceAccount:${account.email}`,
          },
          { parent: this },
        ),
      );
    }
    return account;
  }
}

/** Pub/Sub needs Workload Identity; validation refuses it with existingCluster (checkExistingCluster.ts). */
function requireWorkloadPool(workloadPool: pulumi.Input<string> | undefined): pulumi.Input<string> {
  if (workloadPool === undefined) throw new Error("a Pub/Sub queue needs the cluster's Workload Identity pool");
  return workloadPool;
}
