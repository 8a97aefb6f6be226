/**
 * The gke-batch Pulumi program: GKE cluster and node pools, worker image, and the workers (a Job
 * that drains the queue, or a Deployment KEDA scales with it: docs/scaling.md).
 * Config: Pulumi.<stack>.yaml (keys and defaults in infra/plan/schema.ts; guide in docs/deploy.md).
 */
import * as pulumi from '@pulumi/pulumi';
import {
  drainRunNotice,
  fullScaleInput,
  existingClusterProvider,
  GkeCluster,
  GkeClusterArgs,
  KEDA_CONTROL_PLANE_PORTS,
  readStackConfig,
  scalingOutput,
  scalingSummary,
  sizingOutput,
  systemPoolName,
  WORKER_HEALTH_PORT,
  watchCommands,
  WorkerImage,
  WorkerMetrics,
  Workers,
} from './infra';

// Validate everything before declaring anything: a bad config changes nothing in the cloud.
const { config, warnings } = readStackConfig();
pulumi.log.info(`plan: ${config.plan.summary}`);
pulumi.log.info(scalingSummary(fullScaleInput(config)));
if (config.scaling.mode === 'drain') pulumi.log.info(drainRunNotice(config));
for (const warning of warnings) pulumi.log.warn(warning);

const clusterArgs: GkeClusterArgs = {
  project: config.project,
  region: config.region,
  location: config.location,
  nodeLocations: config.zones.length > 1 ? config.zones : [],
  clusterName: config.clusterName,
  releaseChannel: config.releaseChannel,
  network: config.network,
  subnetwork: config.subnetwork,
  privateNodes: config.privateNodes,
  cloudNat: config.cloudNat,
  deletionProtection: config.deletionProtection,
  managedPrometheus: config.managedPrometheus,
  nodePools: config.nodePools,
  authorizedNetworks: config.authorizedNetworks,
  controlPlanePorts: config.scaling.mode === 'continuous' ? KEDA_CONTROL_PLANE_PORTS : [],
};
// existingCluster: only the workers, into that cluster; no GKE cluster and nothing else in GCP.
const existing = config.existingCluster;
const { cluster, provider } = existing
  ? { cluster: undefined, provider: existingClusterProvider('existing-cluster', existing) }
  : (() => {
      const gke = new GkeCluster('gke', clusterArgs);
      return { cluster: gke, provider: gke.provider };
    })();

const image = new WorkerImage('worker', {
  project: config.project,
  region: config.region,
  image: config.image,
  tag: pulumi.getStack(),
  reader: cluster?.nodeServiceAccount.email,
});

const workers = new Workers('workers', {
  provider,
  project: config.project,
  clusterName: config.clusterName,
  workloadPool: cluster?.workloadPool,
  nodeSelector: existing?.nodeSelector,
  image: image.imageRef,
  workers: config.workers,
  pool: config.workerPool,
  queueUrl: config.queueUrl,
  cloudpath: config.cloudpath,
  outputBucket: config.outputBucket,
  pubsub: config.pubsub,
  // Only where AWS is used (SQS, s3://): a Pub/Sub queue with gs:// outputs gets no AWS Secret.
  aws: config.aws && {
    region: config.aws.region,
    endpoint: config.aws.endpoint,
    accessKeyId: pulumi.secret(config.aws.accessKeyId),
    secretAccessKey: pulumi.secret(config.aws.secretAccessKey),
  },
  scaling: config.scaling,
  systemPool: existing ? undefined : systemPoolName(config.nodePools, config.workerPool.name),
});

// The workers' /metrics into managed Prometheus, where the cluster collects (docs/operations.md, PromQL).
if (config.managedPrometheus) {
  new WorkerMetrics('worker-metrics', { provider, namespace: workers.namespace, port: WORKER_HEALTH_PORT });
}

export const clusterName = cluster ? cluster.clusterName : 'none: existingCluster';
export const location = config.location;
export const kubeconfig = cluster?.kubeconfig;
export const imageRef = image.imageRef;
export const imageDigest = image.imageRef.apply((ref) => ref.split('@')[1] ?? 'none (image.existing is a tag)');
export const namespace = workers.namespace;
export const workerCount = workers.replicas;
export const nodePools = existing ? [] : config.nodePools.map((pool) => pool.name);
export const sizing = sizingOutput(config);
export const plan = config.plan.summary;
export const scaling = scalingOutput(config);
export const watch = watchCommands(config);
