/**
 * Checks the whole stack config before any resource is declared, and reports every problem at
 * once: each names the key, the bad value and what to do. Pure: no Pulumi calls, no cloud.
 *
 * Keys that failed to parse (config.ts) are skipped by the checks that need them, so one typo does
 * not bury the other problems under follow-on errors.
 */
import path from 'node:path';
import {
  ConfigValues,
  display,
  ImageInput,
  NodePoolInput,
  parseConfigValues,
  ParsedConfig,
  PROJECT,
  Taint,
  WorkersInput,
} from './config';
import {
  ACCELERATOR_TYPES,
  DISK_TYPES,
  MACHINE_FAMILIES,
  MACHINE_TYPES,
  machineType,
  MachineType,
} from './machineTypes';
import { floorTo, formatCpu, parseCpuMillis, parseMemoryMiB } from './quantity';
import { K8S_NAMES } from './names';
import { checkScaling, poolTaints, Scaling } from './scaling';
import { fitOnNode, planWorkers, SizingPlan, SystemOverhead } from './sizing';
import { didYouMean } from '../lib/suggest';

/** Seconds a spot node's pods get for a graceful shutdown when the VM is preempted (of its 30 s notice). */
export const SPOT_SHUTDOWN_SECONDS = 15;

/** Seconds a worker needs after its grace period to abort running tasks and release their leases. */
export const RELEASE_SECONDS = 5;

/** The task settings that default the workers' keys (from config/task.env via lib/config.ts). */
export interface TaskDefaults {
  readonly queueUrl: string;
  readonly cloudpath: string;
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  readonly concurrency: number;
  readonly graceSeconds: number;
}

export interface ValidateContext {
  readonly taskDefaults: TaskDefaults;
  /** Where the defaults came from, for messages ("config/task.env"). */
  readonly taskDefaultsSource?: string;
  /** Project directory the image context is relative to. */
  readonly projectDir: string;
  readonly fileExists: (file: string) => boolean;
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
}

/** The validated stack config: every default resolved, every cross-check passed. */
export interface StackConfig extends Omit<
  ParsedConfig,
  'nodePools' | 'workers' | 'queueUrl' | 'cloudpath' | 'aws' | 'sizing' | 'subnetwork' | 'scaling'
> {
  /** A zone for a zonal cluster (one zone configured), else the region. */
  readonly location: string;
  readonly subnetwork?: string;
  readonly nodePools: readonly NodePool[];
  readonly workerPool: NodePool;
  readonly workers: Workers;
  readonly queueUrl: string;
  readonly cloudpath: string;
  /** The gs:// bucket the workers write to, when outputs go to Cloud Storage. */
  readonly outputBucket?: string;
  readonly aws: AwsSettings;
  readonly overhead: SystemOverhead;
  readonly plan: SizingPlan;
  /** Drain or continuous, with the most workers and the nodes they need (docs/scaling.md). */
  readonly scaling: Scaling;
}

export type Validation =
  | { readonly ok: true; readonly config: StackConfig; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[]; readonly warnings: readonly string[] };

export function validateStackConfig(values: ConfigValues, context: ValidateContext): Validation {
  const { values: parsed, failed, problems } = parseConfigValues(values);
  const warnings: string[] = [];
  const report = { problems, warnings };

  checkLocation(parsed, report);
  const pools = parsed.nodePools ? checkNodePools(parsed.nodePools, parsed.workers?.nodePool, report) : undefined;
  const image = parsed.image ? checkImage(parsed.image, context, report) : undefined;
  const overhead = parsed.sizing ? toOverhead(parsed.sizing) : undefined;
  const queue = failed.has('queueUrl') ? undefined : checkQueue(parsed, context, report);
  const outputs = failed.has('cloudpath') ? undefined : checkCloudpath(parsed, context, report);
  const aws = parsed.aws ? checkAws(parsed.aws, queue, report) : undefined;
  if (parsed.privateNodes === true && parsed.cloudNat === false) {
    warnings.push(
      `cloudNat false with privateNodes true: nodes have no external IP, so pods reach SQS only if the network ${parsed.network ?? 'default'} already has NAT`,
    );
  }

  let workers: { workers: Workers; pool: NodePool; plan: SizingPlan } | undefined;
  if (parsed.workers && pools && overhead)
    workers = checkWorkers(parsed.workers, pools, overhead, context.taskDefaults, report);
  const scaling =
    parsed.scaling && pools && workers && queue
      ? checkScaling(
          parsed.scaling,
          {
            queueUrl: queue.url,
            defaultWorkers: workers.plan.replicas,
            capacity: workers.plan.capacity,
            workersPerNode: workers.plan.workersPerNode,
            pool: { name: workers.pool.name, maxNodes: workers.pool.maxNodes, index: pools.indexOf(workers.pool) },
            concurrency: workers.workers.concurrency,
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
    warnings.push(
      `nodePools[${pools?.indexOf(workers.pool)}] ${workers.pool.name}: the workers' pool has no NoSchedule taint, so other pods may land there and keep ` +
        `idle nodes from scaling to zero; add one: pulumi config set --path '${PROJECT}:nodePools[${pools?.indexOf(workers.pool)}].taints[0].key' gke-batch/workers`,
    );
  }

  if (problems.length > 0 || !workers || !pools || !image || !overhead || !queue || !outputs || !aws || !scaling) {
    if (problems.length === 0)
      problems.push('the stack config could not be read (no problem was reported; this is a bug in infra/validate.ts)');
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
    nodePools: pools,
    workerPool: workers.pool,
    workers: workers.workers,
    image,
    queueUrl: queue.url,
    cloudpath: outputs.cloudpath,
    outputBucket: outputs.bucket,
    aws,
    overhead,
    plan: workers.plan,
    scaling,
  };
  return { ok: true, config, warnings };
}

interface Report {
  readonly problems: string[];
  readonly warnings: string[];
}

// ---------------------------------------------------------------------------------------------

function checkLocation(parsed: Partial<ParsedConfig>, { problems }: Report): void {
  let region = parsed.region;
  if (region !== undefined && !/^[a-z]+-[a-z]+\d+$/.test(region)) {
    problems.push(
      `gcp:region ${region}: is not a Compute Engine region name; write one like us-central1 or europe-west4`,
    );
    region = undefined; // zones cannot be checked against it
  }
  const seen = new Set<string>();
  parsed.zones?.forEach((zone, i) => {
    if (seen.has(zone)) problems.push(`zones[${i}] ${zone}: is listed twice; list each zone once`);
    seen.add(zone);
    if (!/^[a-z]+-[a-z]+\d+-[a-z]$/.test(zone))
      problems.push(`zones[${i}] ${display(zone)}: is not a zone name; write one like us-central1-a`);
    else if (region && !zone.startsWith(`${region}-`))
      problems.push(`zones[${i}] ${zone}: is not in gcp:region ${region}; use a zone of ${region}, e.g. ${region}-a`);
  });
}

function checkNodePools(
  inputs: readonly NodePoolInput[],
  workerPoolName: string | undefined,
  report: Report,
): NodePool[] | undefined {
  const { problems } = report;
  const before = problems.length;
  if (inputs.length === 0) {
    problems.push(
      `nodePools []: the cluster needs at least one node pool; e.g. pulumi config set --path ${PROJECT}:nodePools[0].name workers`,
    );
    return undefined;
  }
  const names = new Set<string>();
  const pools: NodePool[] = [];
  inputs.forEach((input, i) => {
    const key = `nodePools[${i}]`;
    if (names.has(input.name))
      problems.push(`${key}.name ${input.name}: another pool has this name; give each pool its own name`);
    names.add(input.name);

    const machine = machineType(input.machineType);
    if (!machine) {
      const hint = didYouMean(input.machineType, MACHINE_TYPES.keys());
      problems.push(
        `${key}.machineType ${input.machineType}: is not a machine type this stack knows; ${hint || `use one of the ${MACHINE_FAMILIES.join(', ')} families, e.g. e2-standard-4`}`,
      );
    }
    if (input.minNodes > input.maxNodes) {
      problems.push(
        `${key}.minNodes ${input.minNodes}: is above maxNodes ${input.maxNodes}; lower minNodes or raise maxNodes`,
      );
    }
    if (machine) {
      const disks = DISK_TYPES[machine.family] ?? [];
      if (!disks.includes(input.diskType)) {
        problems.push(
          `${key}.diskType ${input.diskType}: ${machine.family} machines take ${disks.join(', ')}; ${didYouMean(input.diskType, disks) || `use ${disks[0]}`}`,
        );
      }
      checkGpu(input, machine, key, problems);
    }
    input.taints.forEach((taint: Taint, t) => {
      if (!/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(taint.key)) {
        problems.push(
          `${key}.taints[${t}].key ${display(taint.key)}: is not a Kubernetes taint key; write one like gke-batch/workers`,
        );
      }
    });
    const spot = input.spot ?? input.name === workerPoolName;
    if (machine) pools.push({ ...input, machine, spot, taints: poolTaints(input.taints, spot) });
  });

  const systemCapable = inputs.some(
    (pool) =>
      pool.maxNodes > 0 &&
      !poolTaints(pool.taints, pool.spot ?? pool.name === workerPoolName).some((t) => t.effect !== 'PreferNoSchedule'),
  );
  if (!systemCapable) {
    problems.push(
      "nodePools: every pool is tainted (spot pools get GKE's spot taint) or has maxNodes 0, so system pods such as kube-dns have nowhere to run; " +
        `add an untainted pool, e.g. pulumi config set --path '${PROJECT}:nodePools[${inputs.length}].name' system`,
    );
  }
  return problems.length === before ? pools : undefined;
}

function checkGpu(input: NodePoolInput, machine: MachineType, key: string, problems: string[]): void {
  const attached = machine.attachedGpus;
  if (!input.gpu) {
    if (attached) {
      problems.push(
        `${key}.gpu is missing: ${machine.name} comes with ${attached.count} ${attached.type} GPU; set gpu {type: ${attached.type}, count: ${attached.count}}`,
      );
    }
    return;
  }
  const { type, count } = input.gpu;
  const accelerator = ACCELERATOR_TYPES.get(type);
  if (!accelerator) {
    problems.push(
      `${key}.gpu.type ${type}: is not a GPU type this stack knows; ${didYouMean(type, ACCELERATOR_TYPES.keys()) || `use one of ${[...ACCELERATOR_TYPES.keys()].join(', ')}`}`,
    );
    return;
  }
  if (!accelerator.families.includes(machine.family)) {
    const example = [...MACHINE_TYPES.values()].find(
      (m) => accelerator.families.includes(m.family) && m.vcpus >= 4,
    )?.name;
    problems.push(
      `${key}.gpu.type ${type}: ${accelerator.label} GPUs cannot be attached to ${machine.name}${input.spot ? ' (spot)' : ''}; ` +
        `they need a machine type of the ${accelerator.families.join(' or ')} family, e.g. ${example}`,
    );
    return;
  }
  if (attached && count !== attached.count) {
    problems.push(
      `${key}.gpu.count ${count}: ${machine.name} comes with exactly ${attached.count} ${type}; set count ${attached.count} or pick another g2 size`,
    );
  } else if (accelerator.counts && !accelerator.counts.includes(count)) {
    problems.push(
      `${key}.gpu.count ${count}: ${accelerator.label} GPUs attach ${accelerator.counts.join(', ')} per node; pick one of those`,
    );
  }
}

function toOverhead(sizing: NonNullable<ParsedConfig['sizing']>): SystemOverhead {
  return {
    cpuMillis: parseCpuMillis(sizing.daemonSetCpu) ?? 0,
    memoryMiB: parseMemoryMiB(sizing.daemonSetMemory) ?? 0,
    memorySlackPercent: sizing.memorySlackPercent,
  };
}

function checkWorkers(
  input: WorkersInput,
  pools: readonly NodePool[],
  overhead: SystemOverhead,
  defaults: TaskDefaults,
  { problems, warnings }: Report,
) {
  const before = problems.length;
  const pool = pools.find((p) => p.name === input.nodePool);
  if (!pool) {
    const names = pools.map((p) => p.name);
    problems.push(
      `workers.nodePool ${input.nodePool}: no node pool has this name; ${didYouMean(input.nodePool, names) || `use one of ${names.join(', ')}`}`,
    );
    return undefined;
  }
  const where = `${pool.machine.name} (pool ${pool.name})`;
  if (pool.machine.sharedCore) {
    problems.push(
      `nodePools[${pools.indexOf(pool)}].machineType ${pool.machine.name}: shared-core machines burst above a fraction of a vCPU, so workers cannot be planned on them; use e2-standard-2 or larger for the workers' pool`,
    );
    return undefined;
  }
  if (pool.maxNodes === 0) {
    problems.push(
      `nodePools[${pools.indexOf(pool)}].maxNodes 0: the workers' pool ${pool.name} can never have a node; raise maxNodes`,
    );
  }

  // Both parsed already in config.ts: a value that does not parse never reaches this point.
  const cpuMillis = parseCpuMillis(input.cpu) ?? 0;
  const memoryMiB = parseMemoryMiB(input.memory) ?? 0;
  const memoryLimit = input.memoryLimit ?? input.memory;
  if ((parseMemoryMiB(memoryLimit) ?? 0) < memoryMiB) {
    problems.push(
      `workers.memoryLimit ${memoryLimit}: is below workers.memory ${input.memory}; set it to at least ${input.memory} (or leave it unset to use workers.memory)`,
    );
  }

  const gpusPerNode = pool.gpu?.count ?? 0;
  const gpus = input.gpus ?? (gpusPerNode > 0 ? 1 : 0);
  if (gpus > 0 && gpusPerNode === 0) {
    problems.push(
      `workers.gpus ${gpus}: pool ${pool.name} has no GPUs; set nodePools[${pools.indexOf(pool)}].gpu or workers.gpus 0`,
    );
  } else if (gpus > gpusPerNode) {
    problems.push(`workers.gpus ${gpus}: ${where} nodes have ${gpusPerNode} GPUs; request at most ${gpusPerNode}`);
  }

  const fit = fitOnNode(pool.machine, { cpuMillis, memoryMiB, gpus: 0 }, 0, overhead);
  if (memoryMiB > fit.available.memoryMiB) {
    problems.push(
      `workers.memory ${input.memory}: does not fit on ${where}: at most ${floorTo(fit.available.memoryMiB / 1024, 1)}Gi per worker is allocatable; ` +
        'lower workers.memory or pick a machine type with more memory',
    );
  }
  if (cpuMillis > fit.available.cpuMillis) {
    problems.push(
      `workers.cpu ${input.cpu}: does not fit on ${where}: at most ${Math.floor(fit.available.cpuMillis)}m (${formatCpu(fit.available.cpuMillis)}) per worker is allocatable; ` +
        'lower workers.cpu or pick a machine type with more vCPUs',
    );
  }
  if (problems.length > before) return undefined;

  const plan = planWorkers({
    machineTypeName: pool.machine.name,
    machine: pool.machine,
    minNodes: pool.minNodes,
    maxNodes: pool.maxNodes,
    request: { cpuMillis, memoryMiB, gpus },
    gpusPerNode,
    replicas: input.replicas,
    overhead,
  });
  if (input.replicas !== 'auto' && input.replicas > plan.capacity) {
    const nodes = Math.ceil(input.replicas / plan.workersPerNode);
    problems.push(
      `workers.replicas ${input.replicas}: pool ${pool.name} holds at most ${plan.capacity} workers (${plan.workersPerNode}/node × ${pool.maxNodes} nodes); ` +
        `raise nodePools[${pools.indexOf(pool)}].maxNodes to ${nodes}, or set replicas ${plan.capacity} or auto`,
    );
  }

  const graceSeconds = input.graceSeconds ?? defaults.graceSeconds;
  const leaseSeconds = input.leaseSeconds ?? defaults.leaseSeconds;
  const spotGrace = SPOT_SHUTDOWN_SECONDS - RELEASE_SECONDS;
  if (pool.spot && graceSeconds > spotGrace) {
    warnings.push(
      `workers.graceSeconds ${graceSeconds}: a preempted spot node gives pods about ${SPOT_SHUTDOWN_SECONDS} s, so tasks on it are not released and wait for ` +
        `their lease (${leaseSeconds} s) to expire; set workers.graceSeconds to ${spotGrace} or less to release them at once`,
    );
  }
  if (problems.length > before) return undefined;

  const { memoryLimit: _limit, gpus: _gpus, replicas: _replicas, ...rest } = input;
  const workers: Workers = {
    ...rest,
    memoryLimit,
    gpus,
    replicas: plan.replicas,
    replicasMode: input.replicas === 'auto' ? 'auto' : 'fixed',
    concurrency: input.concurrency ?? defaults.concurrency,
    leaseSeconds,
    graceSeconds,
    maxAttempts: input.maxAttempts ?? defaults.maxAttempts,
  };
  return { workers, pool, plan };
}

function checkImage(
  image: ImageInput,
  context: ValidateContext,
  { problems, warnings }: Report,
): ImageInput | undefined {
  const before = problems.length;
  if (image.existing !== undefined) {
    if (
      !/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/.test(
        image.existing,
      )
    ) {
      problems.push(
        `image.existing ${image.existing}: is not an image reference; write REGISTRY/REPO/NAME@sha256:DIGEST or REPO/NAME:TAG`,
      );
    } else if (!image.existing.includes('@sha256:')) {
      warnings.push(
        `image.existing ${image.existing}: is a tag, not a digest; pods roll out only when this string changes, so pin it as NAME@sha256:DIGEST`,
      );
    }
    return problems.length === before ? image : undefined;
  }
  if (
    image.registry !== 'artifact-registry' &&
    !/^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/.test(image.registry)
  ) {
    problems.push(
      `image.registry ${image.registry}: write "artifact-registry" or an image repository such as docker.io/ME/gke-batch-worker (no tag)`,
    );
  }
  if (image.platform !== 'linux/amd64') {
    problems.push(
      `image.platform ${image.platform}: the machine families this stack plans for (${MACHINE_FAMILIES.join(', ')}) are x86-64; use linux/amd64`,
    );
  }
  const dockerfile = path.resolve(context.projectDir, image.context, image.dockerfile);
  if (!context.fileExists(dockerfile)) {
    problems.push(
      `image.dockerfile ${image.dockerfile}: there is no ${dockerfile}; fix image.context/image.dockerfile, or set image.existing to deploy a prebuilt image`,
    );
  }
  return problems.length === before ? image : undefined;
}

interface Queue {
  readonly url: string;
  /** The region in an https:// SQS URL. */
  readonly region?: string;
}

function checkQueue(parsed: Partial<ParsedConfig>, context: ValidateContext, { problems }: Report): Queue | undefined {
  const url = parsed.queueUrl ?? context.taskDefaults.queueUrl;
  const from = parsed.queueUrl === undefined ? ` (from ${context.taskDefaultsSource ?? 'config/task.env'})` : '';
  const fix = `create an SQS queue (npm run queue:create -- NAME) and pulumi config set ${PROJECT}:queueUrl sqs://NAME`;
  if (url.startsWith('fq://')) {
    problems.push(
      `queueUrl ${url}${from}: a file queue lives on one machine's disk and cannot be reached by pods on several nodes; ${fix}`,
    );
    return undefined;
  }
  if (/^sqs:\/\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(url)) return { url };
  const https = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/.exec(url);
  if (https) return { url, region: https[1] };
  problems.push(
    `queueUrl ${url}${from}: is not an SQS queue; write sqs://NAME or https://sqs.REGION.amazonaws.com/ACCOUNT/NAME, or ${fix}`,
  );
  return undefined;
}

function checkCloudpath(
  parsed: Partial<ParsedConfig>,
  context: ValidateContext,
  { problems }: Report,
): { cloudpath: string; bucket?: string } | undefined {
  const cloudpath = parsed.cloudpath ?? context.taskDefaults.cloudpath;
  const from = parsed.cloudpath === undefined ? ` (from ${context.taskDefaultsSource ?? 'config/task.env'})` : '';
  const gs = /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(\/.*)?$/.exec(cloudpath);
  if (gs) return { cloudpath, bucket: gs[1] };
  if (/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(cloudpath)) return { cloudpath };
  if (/^(file:\/\/|\/|\.)/.test(cloudpath) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(cloudpath)) {
    problems.push(
      `cloudpath ${cloudpath}${from}: files written inside a pod vanish with it; ` +
        `use gs://BUCKET/PREFIX (the workers get access through Workload Identity) or s3://BUCKET/PREFIX: pulumi config set ${PROJECT}:cloudpath gs://BUCKET/outputs`,
    );
  } else {
    problems.push(
      `cloudpath ${cloudpath}${from}: is not a gs:// or s3:// location; write gs://BUCKET/PREFIX or s3://BUCKET/PREFIX`,
    );
  }
  return undefined;
}

/** The keys are needed whatever the queue (on GKE it is always SQS); the region is checked against a valid queue. */
function checkAws(
  aws: NonNullable<ParsedConfig['aws']>,
  queue: Queue | undefined,
  { problems }: Report,
): AwsSettings | undefined {
  const before = problems.length;
  const region = aws.region ?? queue?.region;
  if (region === undefined) {
    if (queue)
      problems.push(
        `aws.region is not set: ${queue.url} names no region; pulumi config set --path ${PROJECT}:aws.region us-east-1`,
      );
  } else if (!/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) {
    problems.push(`aws.region ${region}: is not an AWS region name; write one like us-east-1`);
  } else if (queue?.region && aws.region && queue.region !== aws.region) {
    problems.push(
      `aws.region ${aws.region}: the queue ${queue.url} is in ${queue.region}; set aws.region ${queue.region} or leave it unset`,
    );
  }
  for (const key of ['accessKeyId', 'secretAccessKey'] as const) {
    if (!aws[key]) {
      const example = key === 'accessKeyId' ? 'AKIA...' : '...';
      problems.push(
        `aws.${key} is not set: the workers need it for SQS; pulumi config set --secret --path ${PROJECT}:aws.${key} ${example}`,
      );
    }
  }
  if (problems.length > before || !region || !aws.accessKeyId || !aws.secretAccessKey) return undefined;
  return { region, accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey };
}
