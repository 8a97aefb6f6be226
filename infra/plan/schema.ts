/**
 * The stack's configuration schema: every key with its type, default, unit and a doc line, in one
 * place. Values live in `Pulumi.<stack>.yaml` under the `gke-batch:` namespace (plus `gcp:project`
 * and `gcp:region`); structured keys (nodePools, workers, image, aws, sizing, scaling) are set with
 * `pulumi config set --path gke-batch:workers.cpu 1`.
 *
 * This module declares shapes and types only (`parse.ts` applies it); `validate.ts` checks how the
 * values fit together (machine types, sizing, URLs) and reports every problem at once. Pure.
 */
import { z } from 'zod';
import { MAX_LEASE_SECONDS, SETTINGS } from '../../lib/settings/table';
import {
  BACKOFF_PER_WORKER,
  DEFAULT_COOLDOWN_SECONDS,
  KEDA_CHART_REPO,
  KEDA_CHART_VERSION,
  MIN_BACKOFF_LIMIT,
  POISON_TASKS_TOLERATED,
  SCALING_MODES,
  SYSTEM_POOL_MAX_NODES,
} from './defaults';
import { parseCpuMillis, parseMemoryMiB, quantityHint } from './quantity';

/** The Pulumi project name, and so the config namespace. */
export const PROJECT = 'gke-batch';

// ---------------------------------------------------------------------------------------------
// Field types. Pulumi hands top-level values over as strings and structured ones as JSON, and
// `pulumi config set --path` may store numbers and booleans either way, so both spellings count.

const numeric = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);
const booleanish = (v: unknown) => (v === 'true' ? true : v === 'false' ? false : v);

const wholeNumber = (min: number, max: number, unit: string) =>
  z.preprocess(
    numeric,
    z
      .number({ error: `must be a whole number of ${unit}` })
      .int(`must be a whole number of ${unit}`)
      .min(min, `must be at least ${min} ${unit}`)
      .max(max, `must be at most ${max} ${unit}`),
  );

const bool = () => z.preprocess(booleanish, z.boolean({ error: 'must be true or false' }));

const quantity = (kind: 'cpu' | 'memory') =>
  z.preprocess(
    (v) => (typeof v === 'number' ? String(v) : v),
    z.string({ error: `must be a Kubernetes ${kind} quantity` }).superRefine((text, ctx) => {
      const value = kind === 'cpu' ? parseCpuMillis(text) : parseMemoryMiB(text);
      if (value === undefined)
        ctx.addIssue({
          code: 'custom',
          message: `is not a ${kind === 'cpu' ? 'CPU' : 'memory'} quantity: ${quantityHint(text, kind)}`,
        });
      else if (value <= 0) ctx.addIssue({ code: 'custom', message: 'must be more than zero' });
    }),
  );

/** GKE names: lowercase letters, digits and hyphens, starting with a letter. */
const gkeName = (max: number) =>
  z
    .string({ error: 'must be a name' })
    .max(max, `must be at most ${max} characters`)
    .regex(
      /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
      'must be lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen',
    );

/** Keys and values are checked against Kubernetes' label rules in checkPools.ts, naming the culprit. */
const labelMap = z.record(z.string(), z.string({ error: 'label values are strings' }), {
  error: 'must be a map of label names to values',
});

// ---------------------------------------------------------------------------------------------
// Structured keys.

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

const taint = z.strictObject({
  key: z.string().min(1, 'is empty').describe('Taint key, e.g. "gke-batch/workers".'),
  value: z.string().default('true').describe('Taint value. Default "true".'),
  effect: z
    .enum(TAINT_EFFECTS, { error: `must be one of ${TAINT_EFFECTS.join(', ')}` })
    .default('NoSchedule')
    .describe('NoSchedule (default), PreferNoSchedule or NoExecute.'),
});

const gpu = z.strictObject({
  type: z
    .string({ error: 'a GPU pool needs its GPU type, e.g. nvidia-tesla-t4 (n1 machines) or nvidia-l4 (g2 machines)' })
    .min(1, 'is empty')
    .describe('Accelerator type, e.g. "nvidia-tesla-t4" (n1 machines) or "nvidia-l4" (g2 machines).'),
  count: wholeNumber(1, 16, 'GPUs')
    .default(1)
    .describe('GPUs per node. Default 1; for g2 machines it must equal the GPUs the type comes with.'),
});

export const nodePoolSchema = z.strictObject({
  name: gkeName(40).describe('Node pool name; the workers pick their pool by it (workers.nodePool).'),
  machineType: z
    .string({ error: 'must be a machine type name' })
    .default('e2-standard-4')
    .describe('Compute Engine machine type, e.g. "e2-standard-4". Default e2-standard-4.'),
  minNodes: wholeNumber(0, 1000, 'nodes')
    .default(0)
    .describe('Fewest nodes the autoscaler keeps, across all zones. Default 0 (scale to zero).'),
  maxNodes: wholeNumber(0, 1000, 'nodes')
    .default(3)
    .describe('Most nodes the autoscaler adds, across all zones. Default 3.'),
  spot: bool()
    .optional()
    .describe("Spot VMs (cheap, preemptible with 30 s notice). Default: true for the workers' pool, false for others."),
  diskSizeGb: wholeNumber(10, 65536, 'GB').default(50).describe('Boot disk size in GB. Default 50.'),
  diskType: z
    .string()
    .default('pd-balanced')
    .describe('Boot disk type: pd-balanced (default), pd-standard, pd-ssd or hyperdisk-balanced.'),
  labels: labelMap.default({}).describe('Extra Kubernetes node labels. Default none.'),
  taints: z
    .array(taint, { error: 'must be a list of {key, value, effect}' })
    .default([])
    .describe("Node taints; the workers tolerate their own pool's taints. Default none."),
  gpu: gpu.optional().describe('GPUs attached to every node: {type, count}. Default none.'),
});

export const workersSchema = z.strictObject({
  nodePool: z.string().default('workers').describe('Name of the node pool the workers run on. Default "workers".'),
  namespace: gkeName(63)
    .default('batch-workers')
    .describe('Kubernetes namespace for the workers (not default, kube-*, gke-* or keda). Default "batch-workers".'),
  cpu: quantity('cpu')
    .default('1')
    .describe('CPU request per worker pod (Kubernetes quantity: "1", "500m"). Default 1.'),
  memory: quantity('memory').default('3Gi').describe('Memory request per worker pod ("3Gi", "3000Mi"). Default 3Gi.'),
  memoryLimit: quantity('memory')
    .optional()
    .describe('Memory limit per worker pod; above it the pod is OOM-killed. Default: equal to workers.memory.'),
  gpus: wholeNumber(0, 16, 'GPUs')
    .optional()
    .describe('GPUs per worker pod (nvidia.com/gpu). Default 1 on a GPU pool, else 0.'),
  replicas: z
    .preprocess(
      numeric,
      z.union([z.literal('auto'), z.number().int().min(0, 'must be "auto" or a whole number of pods, 0 or more')], {
        error: 'must be "auto" or a whole number of pods',
      }),
    )
    .default('auto')
    .describe('Worker pods: a number, or "auto" for workers per node × the pool\'s maxNodes. Default auto.'),
  concurrency: wholeNumber(1, 1000, 'tasks')
    .optional()
    .describe(`Tasks one worker runs at once (${SETTINGS.concurrency.env}). Default from config/task.env.`),
  leaseSeconds: wholeNumber(1, MAX_LEASE_SECONDS, 'seconds')
    .optional()
    .describe(
      `Task lease in seconds (${SETTINGS.leaseSeconds.env}; SQS caps it at ${MAX_LEASE_SECONDS}). Default from config/task.env.`,
    ),
  graceSeconds: wholeNumber(0, 3600, 'seconds')
    .optional()
    .describe(
      `Seconds running tasks get to finish after SIGTERM (${SETTINGS.graceSeconds.env}). Default from config/task.env.`,
    ),
  maxAttempts: wholeNumber(1, 1000, 'attempts')
    .optional()
    .describe(
      `Attempts before a failing task is dead-lettered (${SETTINGS.maxAttempts.env}). Default from config/task.env.`,
    ),
});

export const imageSchema = z.strictObject({
  existing: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe('Use this image as is (best by digest: repo/name@sha256:...) instead of building one. Default: build.'),
  context: z.string().default('.').describe('Docker build context, relative to the project directory. Default ".".'),
  dockerfile: z
    .string()
    .default('Dockerfile')
    .describe('Dockerfile, relative to the build context. Default "Dockerfile".'),
  platform: z
    .string()
    .default('linux/amd64')
    .describe('Build platform; GKE nodes of the listed families are linux/amd64. Default linux/amd64.'),
  registry: z
    .string()
    .default('artifact-registry')
    .describe(
      '"artifact-registry" (default: a repository the stack creates) or an image repository to push to, e.g. "docker.io/me/gke-batch-worker".',
    ),
  repository: gkeName(63)
    .optional()
    .describe(
      'Artifact Registry repository id. Default: the cluster name, so two stacks in one project never share (or clash on) a repository.',
    ),
  createRepository: bool()
    .default(true)
    .describe('true (default): the stack creates the repository; false: push to an existing repository of that id.'),
  name: z
    .string()
    .regex(/^[a-z0-9]+([._-][a-z0-9]+)*$/, 'must be lowercase letters, digits and . _ -')
    .default('worker')
    .describe('Image name inside the Artifact Registry repository. Default "worker".'),
});

export const awsSchema = z.strictObject({
  region: z.string().optional().describe('AWS region of the SQS queue. Default: the region in an https:// queue URL.'),
  accessKeyId: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe('AWS access key id for SQS (and S3 outputs). Set with --secret.'),
  secretAccessKey: z.string().min(1, 'is empty').optional().describe('AWS secret access key. Set with --secret.'),
});

export const sizingSchema = z.strictObject({
  daemonSetCpu: quantity('cpu')
    .default('460m')
    .describe('CPU the system DaemonSets request on every node. Default 460m (Dataplane V2 + Workload Identity).'),
  daemonSetMemory: quantity('memory')
    .default('420Mi')
    .describe('Memory the system DaemonSets request on every node. Default 420Mi.'),
  memorySlackPercent: wholeNumber(0, 50, 'percent')
    .default(3)
    .describe("Allocatable memory held back for the autoscaler's stricter model, in percent. Default 3."),
});

export const scalingSchema = z.strictObject({
  mode: z
    .enum(SCALING_MODES, { error: `must be ${SCALING_MODES.join(' or ')}` })
    .default('drain')
    .describe(
      'drain (default): a Job whose workers exit once the queue is empty, then nodes scale to zero; continuous: a Deployment KEDA scales with the SQS queue.',
    ),
  run: z
    .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string({ error: 'must be a run id such as 2' }))
    .default('1')
    .describe(
      'drain: the run id, part of the Job\'s name; set a new one (2, 3, 2026-05-01) and pulumi up to start a new run. Default "1".',
    ),
  maxWorkers: wholeNumber(1, 100000, 'workers')
    .optional()
    .describe(
      "Most workers at once: the Job's parallelism (drain) or KEDA's maximum (continuous); at most what the pool holds. Default: workers.replicas.",
    ),
  queueLength: wholeNumber(1, 10000, 'tasks')
    .optional()
    .describe('continuous: tasks (waiting + in flight) per worker KEDA aims for. Default: workers.concurrency.'),
  backoffLimit: wholeNumber(0, 100000, 'crashes')
    .optional()
    .describe(
      `drain: worker crashes tolerated before the Job fails (spot preemptions do not count). Default: max(${MIN_BACKOFF_LIMIT}, ${BACKOFF_PER_WORKER} × maxWorkers) + ${POISON_TASKS_TOLERATED} × workers.maxAttempts, so a few poison tasks never abort the batch.`,
    ),
  cooldownSeconds: wholeNumber(0, 86400, 'seconds')
    .default(DEFAULT_COOLDOWN_SECONDS)
    .describe(
      `continuous: seconds the queue must stay empty before the workers scale to zero. Default ${DEFAULT_COOLDOWN_SECONDS}.`,
    ),
  kedaChartVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'must be an exact chart version such as 2.20.2, not a range')
    .default(KEDA_CHART_VERSION)
    .describe(`continuous: version of KEDA's Helm chart, pinned. Default ${KEDA_CHART_VERSION}.`),
  kedaChartRepo: z
    .string()
    .regex(/^https:\/\/\S+$/, 'must be the https:// URL of a Helm chart repository (one with an index.yaml)')
    .default(KEDA_CHART_REPO)
    .describe(`continuous: Helm repository holding the keda chart. Default ${KEDA_CHART_REPO}.`),
});

// ---------------------------------------------------------------------------------------------
// Top-level keys of the `gke-batch:` namespace.

export const RELEASE_CHANNELS = ['RAPID', 'REGULAR', 'STABLE', 'EXTENDED'] as const;

/** Keys that are plain values; `Pulumi.yaml` declares their types too. */
export const scalarKeys = {
  clusterName: gkeName(40).default('gke-batch').describe('GKE cluster name; also prefixes the service accounts.'),
  releaseChannel: z
    .enum(RELEASE_CHANNELS, { error: `must be one of ${RELEASE_CHANNELS.join(', ')}` })
    .default('REGULAR')
    .describe('GKE release channel: RAPID, REGULAR, STABLE or EXTENDED.'),
  network: z.string().min(1, 'is empty').default('default').describe('VPC network the cluster joins.'),
  subnetwork: z
    .string()
    .default('')
    .describe("Subnetwork in the region for the nodes; empty for the network's default."),
  privateNodes: bool().default(false).describe('Give nodes no external IP (they reach SQS through Cloud NAT).'),
  cloudNat: bool()
    .default(true)
    .describe('With privateNodes, create a Cloud Router and Cloud NAT so nodes reach the internet.'),
  deletionProtection: bool()
    .default(false)
    .describe('Refuse to delete the cluster (GKE and Pulumi protect); off so that pulumi destroy works.'),
  queueUrl: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe(
      `Queue the workers lease from (${SETTINGS.queueUrl.env}): sqs://NAME or an https:// SQS URL. Default from config/task.env.`,
    ),
  cloudpath: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe(
      `Where task outputs go (${SETTINGS.cloudpath.env}): gs://BUCKET/PREFIX or s3://BUCKET/PREFIX. Default from config/task.env.`,
    ),
} as const;

/** Keys whose values are JSON (lists and objects). */
export const structuredKeys = {
  authorizedNetworks: z
    .array(z.string({ error: 'must be a CIDR block such as 203.0.113.0/24' }), {
      error: 'must be a list of CIDR blocks',
    })
    .default([])
    .describe(
      "CIDR blocks allowed to reach the control plane (master authorized networks). Default none: GKE's default (any address, with credentials).",
    ),
  zones: z
    .array(z.string(), { error: 'must be a list of zone names' })
    .default([])
    .describe(
      'Zones for the nodes. One zone: a zonal cluster there; several or none: a regional cluster in gcp:region.',
    ),
  nodePools: z
    .array(nodePoolSchema, { error: 'must be a list of node pools' })
    .prefault(defaultNodePools())
    .describe('Node pools, each autoscaled between minNodes and maxNodes.'),
  workers: workersSchema.prefault({}).describe('The worker pods.'),
  image: imageSchema.prefault({}).describe('The worker image: built from the Dockerfile, or an existing one.'),
  aws: awsSchema.prefault({}).describe('AWS credentials and region for SQS (set the keys with --secret).'),
  sizing: sizingSchema.prefault({}).describe('What each node keeps for itself before workers fit.'),
  scaling: scalingSchema
    .prefault({})
    .describe('How the workers run and scale: drain (a Job) or continuous (KEDA); see docs/scaling.md.'),
} as const;

/** One field of each structured key, for messages that show how `--path` works. */
export const PATH_EXAMPLES: Readonly<Record<StructuredKey, string>> = {
  authorizedNetworks: 'authorizedNetworks[0] 203.0.113.0/24',
  zones: 'zones[0] us-central1-a',
  nodePools: 'nodePools[0].name workers',
  workers: 'workers.cpu 1',
  image: 'image.existing REPO/NAME@sha256:DIGEST',
  aws: 'aws.region us-east-1',
  sizing: 'sizing.daemonSetCpu 460m',
  scaling: 'scaling.mode continuous',
};

export type ScalarKey = keyof typeof scalarKeys;
export type StructuredKey = keyof typeof structuredKeys;
export type ConfigKey = ScalarKey | StructuredKey;
export const CONFIG_KEYS: readonly ConfigKey[] = [
  ...(Object.keys(scalarKeys) as ScalarKey[]),
  ...(Object.keys(structuredKeys) as StructuredKey[]),
];

/** The two keys read from the gcp provider's namespace, so the provider and the stack agree. */
export const GCP_KEYS = ['gcp:project', 'gcp:region'] as const;

export type NodePoolInput = z.output<typeof nodePoolSchema>;
export type WorkersInput = z.output<typeof workersSchema>;
export type ImageInput = z.output<typeof imageSchema>;
export type AwsInput = z.output<typeof awsSchema>;
export type SizingInput = z.output<typeof sizingSchema>;
export type ScalingConfigInput = z.output<typeof scalingSchema>;
export type Taint = z.output<typeof taint>;

/** Every key after parsing, before the cross-checks in validate.ts. */
export interface ParsedConfig {
  readonly project: string;
  readonly region: string;
  readonly clusterName: string;
  readonly releaseChannel: (typeof RELEASE_CHANNELS)[number];
  readonly network: string;
  readonly subnetwork: string;
  readonly privateNodes: boolean;
  readonly cloudNat: boolean;
  readonly deletionProtection: boolean;
  readonly queueUrl?: string;
  readonly cloudpath?: string;
  readonly authorizedNetworks: readonly string[];
  readonly zones: readonly string[];
  readonly nodePools: readonly NodePoolInput[];
  readonly workers: WorkersInput;
  readonly image: ImageInput;
  readonly aws: AwsInput;
  readonly sizing: SizingInput;
  readonly scaling: ScalingConfigInput;
}

function defaultNodePools(): z.input<typeof nodePoolSchema>[] {
  return [
    { name: 'system', machineType: 'e2-standard-2', minNodes: 1, maxNodes: SYSTEM_POOL_MAX_NODES, spot: false },
    {
      name: 'workers',
      machineType: 'e2-standard-4',
      minNodes: 0,
      maxNodes: 10,
      taints: [{ key: 'gke-batch/workers', value: 'true', effect: 'NoSchedule' }],
    },
  ];
}
