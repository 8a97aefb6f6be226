/**
 * The stack's configuration schema: every key with its type, default, unit and a doc line. Values
 * live in `Pulumi.<stack>.yaml` under the `gke-batch:` namespace (plus `gcp:project` and
 * `gcp:region`); structured keys (nodePools, workers, image, aws, sizing, scaling, pubsub) are set with
 * `pulumi config set --path gke-batch:workers.cpu 1`. The structured keys' fields are declared in
 * schemaPools.ts, schemaWorkers.ts, schemaImage.ts, schemaScaling.ts and schemaPubsub.ts (field types:
 * schemaFields.ts); this module lists the keys.
 *
 * Shapes and types only (`parse.ts` applies them); `validate.ts` checks how the values fit
 * together (machine types, sizing, URLs) and reports every problem at once. Pure.
 */
import { z } from 'zod';
import { SETTINGS } from '../../lib/settings/table';
import { bool, gkeName } from './schemaFields';
import { ExistingClusterInput, existingClusterSchema } from './schemaExistingCluster';
import { AwsInput, awsSchema, ImageInput, imageSchema } from './schemaImage';
import { defaultNodePools, NodePoolInput, nodePoolSchema } from './schemaPools';
import { PubsubInput, pubsubSchema } from './schemaPubsub';
import { ScalingConfigInput, scalingSchema } from './schemaScaling';
import { SizingInput, sizingSchema, WorkersInput, workersSchema } from './schemaWorkers';

export { TAINT_EFFECTS, nodePoolSchema } from './schemaPools';
export type { NodePoolInput, Taint } from './schemaPools';
export { workersSchema, sizingSchema } from './schemaWorkers';
export type { WorkersInput, SizingInput } from './schemaWorkers';
export { imageSchema, awsSchema } from './schemaImage';
export type { ImageInput, AwsInput } from './schemaImage';
export { scalingSchema } from './schemaScaling';
export { existingClusterSchema } from './schemaExistingCluster';
export type { ExistingClusterInput } from './schemaExistingCluster';
export type { ScalingConfigInput } from './schemaScaling';
export { pubsubSchema } from './schemaPubsub';
export type { PubsubInput } from './schemaPubsub';

/** The Pulumi project name, and so the config namespace. */
export const PROJECT = 'gke-batch';

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
  privateNodes: bool()
    .default(false)
    .describe('Give nodes no external IP (they reach the queue and outputs through Cloud NAT).'),
  cloudNat: bool()
    .default(true)
    .describe('With privateNodes, create a Cloud Router and Cloud NAT so nodes reach the internet.'),
  deletionProtection: bool()
    .default(false)
    .describe('Refuse to delete the cluster (GKE and Pulumi protect); off so that pulumi destroy works.'),
  managedPrometheus: bool()
    .optional()
    .describe(
      "GKE's managed Prometheus collection on the cluster, and a PodMonitoring that scrapes the workers' /metrics. " +
        'Default true; with existingCluster false (set it when that cluster runs managed collection).',
    ),
  queueUrl: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe(
      `Queue the workers lease from (${SETTINGS.queueUrl.env}): sqs://NAME, an https:// SQS URL, ` +
        'pubsub://PROJECT/NAME or pubsub://projects/P/topics/T/subscriptions/S. Default from config/task.env.',
    ),
  cloudpath: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe(
      `Where task outputs go (${SETTINGS.cloudpath.env}): gs://BUCKET/PREFIX or s3://BUCKET/PREFIX. Default from ` +
        `config/task.env.`,
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
      "CIDR blocks allowed to reach the control plane (master authorized networks). Default none: GKE's default (any " +
        'address, with credentials).',
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
  existingCluster: existingClusterSchema
    .optional()
    .describe('Deploy only the workers, into this existing cluster; no GKE cluster or other GCP resource is created.'),
  pubsub: pubsubSchema
    .prefault({})
    .describe('A Pub/Sub queue (queueUrl pubsub://...): created by the stack or existing, and who may operate it.'),
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
  existingCluster: 'existingCluster.kubeconfig ~/.kube/config',
  pubsub: 'pubsub.createQueue false',
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
  readonly managedPrometheus?: boolean;
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
  readonly existingCluster?: ExistingClusterInput;
  readonly pubsub: PubsubInput;
}
