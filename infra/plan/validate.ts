/**
 * Checks the whole stack config before any resource is declared, and reports every problem at
 * once: each names the key, the bad value and what to do. Pure: no Pulumi calls, no cloud.
 *
 * Keys that failed to parse (parse.ts) are skipped by the checks that need them, so one typo does
 * not bury the other problems under follow-on errors.
 */
import {
  checkAws,
  checkCloudpath,
  checkImage,
  checkProjectAndLocation,
  checkQueue,
  EndpointContext,
} from './checkEndpoints';
import { checkExistingCluster } from './checkExistingCluster';
import { checkNodePools } from './checkPools';
import { checkWorkers } from './checkWorkers';
import { K8S_NAMES } from './names';
import { ConfigValues, parseConfigValues } from './parse';
import { checkPubsubQueue } from './pubsub';
import { checkScaling } from './scaling';
import { ParsedConfig, PROJECT } from './schema';
import type { SystemOverhead } from './sizing';
import { parseCpuMillis, parseMemoryMiB } from './quantity';
import type { StackConfig } from './types';

export type { TaskDefaults, StackConfig, NodePool, Workers, AwsSettings } from './types';

export type ValidateContext = EndpointContext;

export type Validation =
  | { readonly ok: true; readonly config: StackConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[]; readonly warnings: readonly string[] };

export function validateStackConfig(values: ConfigValues, context: ValidateContext): Validation {
  const { values: parsed, failed, problems } = parseConfigValues(values);
  const warnings: string[] = [];
  const report = { problems, warnings };

  checkProjectAndLocation(parsed, report);
  const pools = parsed.nodePools ? checkNodePools(parsed.nodePools, parsed.workers?.nodePool, report) : undefined;
  const image = parsed.image ? checkImage(parsed.image, parsed.clusterName, context, report) : undefined;
  const overhead = parsed.sizing ? toOverhead(parsed.sizing) : undefined;
  const queue = failed.has('queueUrl') ? undefined : checkQueue(parsed, context, report);
  const outputs = failed.has('cloudpath') ? undefined : checkCloudpath(parsed, context, report);
  // AWS only where something of AWS is used: unknown while the queue (or, beside Pub/Sub, the
  // outputs) did not parse, and then not checked, so a broken queue URL brings no AWS noise.
  const awsUse = queue?.location.kind === 'sqs' ? 'SQS' : outputs?.scheme === 's3' ? 'S3 outputs (s3://)' : undefined;
  const awsKnown = queue !== undefined && (queue.location.kind === 'sqs' || outputs !== undefined);
  const aws = parsed.aws && queue && awsKnown ? checkAws(parsed.aws, queue, awsUse, context, report) : undefined;
  if (parsed.privateNodes === true && parsed.cloudNat === false && queue) {
    const network = parsed.network ?? 'default';
    warnings.push(
      awsUse
        ? `cloudNat false with privateNodes true: nodes have no external IP, so pods reach ${awsUse} only if the ` +
            `network ${network} already has NAT`
        : 'cloudNat false with privateNodes true: nodes have no external IP, so pods reach Pub/Sub and Cloud ' +
            `Storage only if the nodes' subnet in ${network} has Private Google Access (or the network has NAT)`,
    );
  }

  const workers =
    parsed.workers && pools && overhead
      ? checkWorkers(parsed.workers, pools, overhead, context.taskDefaults, report)
      : undefined;
  const pubsub =
    queue?.location.kind === 'pubsub' && workers && parsed.pubsub
      ? checkPubsubQueue(
          queue.location,
          workers.workers,
          { workers: parsed.workers, pubsub: parsed.pubsub },
          context.taskDefaultsSource ?? 'config/task.env',
          problems,
        )
      : undefined;
  const scaling =
    parsed.scaling && pools && workers && queue
      ? checkScaling(
          parsed.scaling,
          {
            queue: queue.location,
            queueUrl: queue.url,
            ...(aws?.aws?.endpoint ? { sqsEndpoint: { region: aws.aws.region } } : {}),
            defaultWorkers: workers.plan.replicas,
            capacity: workers.plan.capacity,
            workersPerNode: workers.plan.workersPerNode,
            pool: { name: workers.pool.name, maxNodes: workers.pool.maxNodes, index: pools.indexOf(workers.pool) },
            concurrency: workers.workers.concurrency,
            maxAttempts: workers.workers.maxAttempts,
            jobBaseName: K8S_NAMES.job,
          },
          problems,
        )
      : undefined;
  if (
    workers &&
    !workers.pool.spot &&
    workers.pool.minNodes === 0 &&
    !workers.pool.taints.some((t) => t.effect !== 'PreferNoSchedule')
  ) {
    const index = pools?.indexOf(workers.pool);
    warnings.push(
      `nodePools[${index}] ${workers.pool.name}: the workers' pool has no NoSchedule taint, so other pods may land ` +
        `there and keep ` +
        `idle nodes from scaling to zero; add one: pulumi config set --path ` +
        `'${PROJECT}:nodePools[${index}].taints[0].key' gke-batch/workers`,
    );
  }

  const existingCluster =
    parsed.existingCluster && outputs
      ? checkExistingCluster(
          parsed.existingCluster,
          { image, outputBucket: outputs.bucket, pubsubQueue: queue?.location.kind === 'pubsub' },
          context,
          problems,
        )
      : undefined;

  if (
    problems.length > 0 ||
    !workers ||
    !pools ||
    !image ||
    !overhead ||
    !queue ||
    !outputs ||
    !aws ||
    !scaling ||
    (queue.location.kind === 'pubsub' && !pubsub)
  ) {
    if (problems.length === 0)
      problems.push(
        'the stack config could not be read (no problem was reported; this is a bug in infra/plan/validate.ts)',
      );
    return { ok: false, problems, warnings };
  }
  warnings.push(...workers.plan.warnings);

  // No problem means every key parsed, so the partial result is complete.
  const p = parsed as ParsedConfig;
  const config: StackConfig = {
    project: p.project,
    region: p.region,
    zones: p.zones,
    location: p.zones.length === 1 ? p.zones[0] : p.region,
    clusterName: p.clusterName,
    releaseChannel: p.releaseChannel,
    network: p.network,
    subnetwork: p.subnetwork || undefined,
    privateNodes: p.privateNodes,
    cloudNat: p.cloudNat,
    deletionProtection: p.deletionProtection,
    // An existing cluster may not run managed collection (nor know the PodMonitoring kind): opt in there.
    managedPrometheus: p.managedPrometheus ?? p.existingCluster === undefined,
    authorizedNetworks: p.authorizedNetworks,
    nodePools: pools,
    workerPool: workers.pool,
    workers: workers.workers,
    image,
    queueUrl: queue.url,
    cloudpath: outputs.cloudpath,
    outputBucket: outputs.bucket,
    ...aws,
    ...(pubsub ? { pubsub } : {}),
    overhead,
    plan: workers.plan,
    scaling,
    ...(existingCluster ? { existingCluster } : {}),
  };
  return { ok: true, config, warnings };
}

function toOverhead(sizing: NonNullable<ParsedConfig['sizing']>): SystemOverhead {
  return {
    cpuMillis: parseCpuMillis(sizing.daemonSetCpu) ?? 0,
    memoryMiB: parseMemoryMiB(sizing.daemonSetMemory) ?? 0,
    memorySlackPercent: sizing.memorySlackPercent,
  };
}
