/** The validated stack config's types: what the components and manifests are built from. Types only. */
import type { MachineType } from './machines';
import type { ScalingMode } from './defaults';
import type { AwsInput, ImageInput, NodePoolInput, ParsedConfig, ScalingConfigInput, WorkersInput } from './schema';
import type { SizingPlan, SystemOverhead } from './sizing';

/** The task settings that default the workers' keys (from config/task.env via lib/settings). */
export interface TaskDefaults {
  readonly queueUrl: string;
  readonly cloudpath: string;
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  readonly concurrency: number;
  readonly graceSeconds: number;
}

export interface NodePool extends Omit<NodePoolInput, 'spot'> {
  readonly spot: boolean;
  readonly machine: MachineType;
}

export interface Workers extends Omit<
  WorkersInput,
  'memoryLimit' | 'gpus' | 'replicas' | 'concurrency' | 'leaseSeconds' | 'graceSeconds' | 'maxAttempts'
> {
  readonly memoryLimit: string;
  readonly gpus: number;
  readonly replicas: number;
  readonly replicasMode: 'auto' | 'fixed';
  readonly concurrency: number;
  readonly leaseSeconds: number;
  readonly graceSeconds: number;
  readonly maxAttempts: number;
}

export interface AwsSettings {
  readonly region: string;
  /** Plain text here; the program wraps them with pulumi.secret() before any resource sees them. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** AWS_ENDPOINT_URL for the workers (an SQS/S3-compatible endpoint instead of AWS). */
  readonly endpoint?: string;
}

/** The image section with the repository id resolved (the cluster name unless set). */
export interface ImageSettings extends Omit<ImageInput, 'repository'> {
  readonly repository: string;
}

/** The validated key: `kubeconfig` is the file's absolute path, or the kubeconfig text itself. */
export interface ExistingCluster {
  readonly kubeconfig: string;
  /** True when `kubeconfig` is the text (kept secret by the program), false for a path. */
  readonly inline: boolean;
  readonly context?: string;
  readonly nodeSelector: Readonly<Record<string, string>>;
}

/** Parts of an AWS SQS queue URL, as KEDA's scaler needs them. */
export interface SqsQueueAddress {
  readonly url: string;
  readonly region: string;
  readonly accountId: string;
  readonly name: string;
}

export interface PubsubResourceIds {
  readonly project: string;
  /** Short ids. */
  readonly topic: string;
  readonly subscription: string;
  /** `<topic>-dead`, the topic and its subscription share it (as queue:create names them). */
  readonly deadLetter: string;
}

/** The Pub/Sub queue the stack creates (or only grants on), every number resolved. */
export interface PubsubQueuePlan extends PubsubResourceIds {
  /** The normalised queue URL (pubsub://projects/P/topics/T/subscriptions/S). */
  readonly url: string;
  /** true: the stack creates the four resources (and deletes them on destroy); false: they exist. */
  readonly create: boolean;
  /** Full names, as the API and KEDA take them. */
  readonly topicName: string;
  readonly subscriptionName: string;
  readonly deadTopicName: string;
  readonly deadSubscriptionName: string;
  /** The subscription's ack deadline: the workers' lease. */
  readonly ackDeadlineSeconds: number;
  /** The dead-letter policy: Pub/Sub forwards a task after this many deliveries (workers.maxAttempts + 1). */
  readonly maxDeliveryAttempts: number;
  readonly retention: string;
  /** Principals that may run status / failures / requeue / purge on this queue. */
  readonly operators: readonly string[];
}

/** The `scaling` config section after parsing, before the checks in scaling.ts. */
export type ScalingInput = ScalingConfigInput;

/** The validated scaling settings, every default resolved. */
export interface Scaling extends Omit<ScalingInput, 'maxWorkers' | 'queueLength' | 'backoffLimit'> {
  readonly mode: ScalingMode;
  /** drain: the Job's parallelism; continuous: KEDA's maxReplicaCount. */
  readonly maxWorkers: number;
  /** continuous: tasks per worker KEDA aims for. */
  readonly queueLength: number;
  /** drain: worker crashes tolerated before the Job fails. */
  readonly backoffLimit: number;
  /** Nodes of the workers' pool at full scale. */
  readonly workerNodes: number;
  /** drain: the Job's name for this run. */
  readonly jobName: string;
  /** continuous with SQS: the queue KEDA watches (a Pub/Sub queue is StackConfig.pubsub). */
  readonly queue?: SqsQueueAddress;
}

/** The validated stack config: every default resolved, every cross-check passed. */
export interface StackConfig extends Omit<
  ParsedConfig,
  | 'nodePools'
  | 'workers'
  | 'queueUrl'
  | 'cloudpath'
  | 'aws'
  | 'sizing'
  | 'subnetwork'
  | 'scaling'
  | 'image'
  | 'existingCluster'
  | 'pubsub'
  | 'managedPrometheus'
> {
  /** Managed Prometheus on the cluster, and the workers' PodMonitoring (plan/podMonitoring.ts). */
  readonly managedPrometheus: boolean;
  /** A zone for a zonal cluster (one zone configured), else the region. */
  readonly location: string;
  readonly subnetwork?: string;
  readonly nodePools: readonly NodePool[];
  readonly workerPool: NodePool;
  readonly workers: Workers;
  readonly image: ImageSettings;
  readonly queueUrl: string;
  readonly cloudpath: string;
  /** The gs:// bucket the workers write to, when outputs go to Cloud Storage. */
  readonly outputBucket?: string;
  /**
   * AWS region and keys, only where something of AWS is used (an SQS queue, s3:// outputs): a
   * Pub/Sub queue with gs:// outputs has no AWS keys anywhere.
   */
  readonly aws?: AwsSettings;
  /** The Pub/Sub queue (queueUrl pubsub://...): its resources, dead-letter policy and grants. */
  readonly pubsub?: PubsubQueuePlan;
  readonly overhead: SystemOverhead;
  readonly plan: SizingPlan;
  /** Drain or continuous, with the most workers and the nodes they need (docs/scaling.md). */
  readonly scaling: Scaling;
  /** Deploy into this cluster instead of creating one (infra/plan/checkExistingCluster.ts). */
  readonly existingCluster?: ExistingCluster;
}

export type { AwsInput };
