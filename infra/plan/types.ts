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
  /** continuous: the queue KEDA watches. */
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
> {
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
  readonly aws: AwsSettings;
  readonly overhead: SystemOverhead;
  readonly plan: SizingPlan;
  /** Drain or continuous, with the most workers and the nodes they need (docs/scaling.md). */
  readonly scaling: Scaling;
  /** Deploy into this cluster instead of creating one (infra/plan/checkExistingCluster.ts). */
  readonly existingCluster?: ExistingCluster;
}

export type { AwsInput };
