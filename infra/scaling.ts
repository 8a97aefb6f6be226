/**
 * The scaling plan in numbers: how many workers at most, the nodes they need, and what that costs
 * per hour at full scale, as one line for `pulumi preview`. Pure.
 */
import { drainJobName, runIdProblem } from './drainJob';
import { parseSqsQueueUrl, SqsQueueAddress } from './keda';
import {
  estimateDiskHourlyCost,
  estimateHourlyCost,
  formatHourly,
  GKE_CLUSTER_FEE_PER_HOUR,
  PRICE_SOURCE,
} from './pricing';

export const SCALING_MODES = ['drain', 'continuous'] as const;
export type ScalingMode = (typeof SCALING_MODES)[number];

/** A node taint as the stack config spells it. */
export interface NodeTaint {
  readonly key: string;
  readonly value: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** GKE's documented taint for spot pools; the workers tolerate it like any taint of their pool. */
export const SPOT_TAINT: NodeTaint = { key: 'cloud.google.com/gke-spot', value: 'true', effect: 'NoSchedule' };

/**
 * A pool's taints as the cluster gets them: a spot pool that keeps no pod out (no NoSchedule or
 * NoExecute taint) gets {@link SPOT_TAINT}, so only the workers land on nodes that are preempted
 * and scale to zero. A system pod there would be preempted with the node and would keep an idle
 * node from being removed.
 */
export function poolTaints<T extends NodeTaint>(taints: readonly T[], spot: boolean): Array<T | NodeTaint> {
  const keepsPodsOut = taints.some((taint) => taint.effect !== 'PreferNoSchedule');
  return spot && !keepsPodsOut ? [...taints, SPOT_TAINT] : [...taints];
}

/**
 * The pool for pods that must always run (KEDA): the first pool other than the workers' that can
 * have nodes and keeps no pod out. Undefined when there is none (validation makes sure some pool
 * takes system pods; then it is the workers' own).
 */
export function systemPoolName(
  pools: ReadonlyArray<{ readonly name: string; readonly maxNodes: number; readonly taints: readonly NodeTaint[] }>,
  workerPoolName: string,
): string | undefined {
  return pools.find(
    (pool) =>
      pool.name !== workerPoolName && pool.maxNodes > 0 && pool.taints.every((t) => t.effect === 'PreferNoSchedule'),
  )?.name;
}

/** The `scaling` config section after parsing (config.ts), before the checks below. */
export interface ScalingInput {
  readonly mode: ScalingMode;
  readonly run: string;
  readonly maxWorkers?: number;
  readonly queueLength?: number;
  readonly backoffLimit: number;
  readonly cooldownSeconds: number;
  readonly kedaChartVersion: string;
  readonly kedaChartRepo: string;
}

/** The validated scaling settings, every default resolved. */
export interface Scaling extends Omit<ScalingInput, 'maxWorkers' | 'queueLength'> {
  /** drain: the Job's parallelism; continuous: KEDA's maxReplicaCount. */
  readonly maxWorkers: number;
  /** continuous: tasks per worker KEDA aims for. */
  readonly queueLength: number;
  /** Nodes of the workers' pool at full scale. */
  readonly workerNodes: number;
  /** drain: the Job's name for this run. */
  readonly jobName: string;
  /** continuous: the queue KEDA watches. */
  readonly queue?: SqsQueueAddress;
}

/** What the scaling checks need from the rest of the validated config. */
export interface ScalingContext {
  readonly queueUrl: string;
  /** workers.replicas, resolved ("auto": what the pool holds). */
  readonly defaultWorkers: number;
  /** Workers the pool holds at maxNodes. */
  readonly capacity: number;
  readonly workersPerNode: number;
  readonly pool: { readonly name: string; readonly maxNodes: number; readonly index: number };
  /** workers.concurrency: the default queue length per worker. */
  readonly concurrency: number;
  /** The drain Job's name prefix. */
  readonly jobBaseName: string;
}

/** Resolves the defaults and checks the section against the pool and the queue; pushes one message per problem. */
export function checkScaling(input: ScalingInput, context: ScalingContext, problems: string[]): Scaling | undefined {
  const before = problems.length;
  const maxWorkers = input.maxWorkers ?? context.defaultWorkers;
  const from = input.maxWorkers === undefined ? ' (from workers.replicas)' : '';
  if (maxWorkers < 1) {
    problems.push(
      `scaling.maxWorkers ${maxWorkers}${from}: no worker would ever run; set scaling.maxWorkers to 1 or more`,
    );
  } else if (maxWorkers > context.capacity) {
    const nodes = Math.ceil(maxWorkers / context.workersPerNode);
    problems.push(
      `scaling.maxWorkers ${maxWorkers}${from}: pool ${context.pool.name} holds at most ${context.capacity} workers ` +
        `(${context.workersPerNode}/node × ${context.pool.maxNodes} nodes); raise nodePools[${context.pool.index}].maxNodes to ${nodes}, or lower scaling.maxWorkers to ${context.capacity}`,
    );
  }
  if (input.mode === 'drain') {
    const runProblem = runIdProblem(context.jobBaseName, input.run);
    if (runProblem) problems.push(`scaling.run ${input.run}: ${runProblem.replace(/^run id "[^"]*" /, '')}`);
  }
  let queue: SqsQueueAddress | undefined;
  if (input.mode === 'continuous') {
    queue = parseSqsQueueUrl(context.queueUrl);
    if (!queue) {
      problems.push(
        `scaling.mode continuous: KEDA reads the queue's length and needs its full URL, but queueUrl is ${context.queueUrl}; ` +
          'set queueUrl https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (npm run queue:create prints it), or use scaling.mode drain',
      );
    }
  }
  if (problems.length > before) return undefined;
  return {
    ...input,
    maxWorkers,
    queueLength: input.queueLength ?? context.concurrency,
    workerNodes: workerNodesFor(maxWorkers, context.workersPerNode, context.pool.maxNodes),
    jobName: drainJobName(context.jobBaseName, input.run),
    queue,
  };
}

/** What the estimate needs to know about a node pool. */
export interface PoolToPrice {
  readonly name: string;
  readonly machineType: string;
  readonly spot: boolean;
  readonly diskType: string;
  readonly diskSizeGb: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly gpu?: { readonly type: string; readonly count: number };
}

export interface FullScaleInput {
  readonly mode: ScalingMode;
  /** Most workers at once. */
  readonly maxWorkers: number;
  /** Workers one node of the workers' pool holds (the sizing plan). */
  readonly workersPerNode: number;
  readonly workerPool: PoolToPrice;
  /** The other pools; they are counted at their minimum size (the system pool runs all the time). */
  readonly otherPools: readonly PoolToPrice[];
}

export interface FullScaleCost {
  /** USD per hour for the worker nodes at full scale, boot disks included. */
  readonly workerNodes: number;
  /** USD per hour for the other pools at their minimum. */
  readonly otherPools: number;
  readonly clusterFee: number;
  readonly total: number;
  /** What the figure leaves out (GPUs, disks without a flat price). */
  readonly excluded: readonly string[];
}

/** Nodes of the workers' pool that `maxWorkers` need: never more than the pool's `maxNodes`. */
export function workerNodesFor(maxWorkers: number, workersPerNode: number, maxNodes: number): number {
  if (workersPerNode <= 0) return 0;
  return Math.min(maxNodes, Math.ceil(maxWorkers / workersPerNode));
}

/** Cost per hour at full scale, or the plain reason there is none (a machine type without a price). */
export function estimateFullScaleCost(input: FullScaleInput): {
  readonly cost?: FullScaleCost;
  readonly missing: readonly string[];
} {
  const missing: string[] = [];
  const excluded = new Set<string>();
  const poolCost = (pool: PoolToPrice, nodes: number): number => {
    const machine = estimateHourlyCost(pool.machineType, nodes, pool.spot);
    if (machine === undefined) {
      missing.push(`no price for machine type ${pool.machineType} (pool ${pool.name})`);
      return 0;
    }
    const disk = estimateDiskHourlyCost(pool.diskType, pool.diskSizeGb, nodes);
    if (disk === undefined && nodes > 0) excluded.add(`${pool.diskType} disks`);
    if (pool.gpu && nodes > 0) excluded.add('GPUs');
    return machine + (disk ?? 0);
  };

  const nodes = workerNodesFor(input.maxWorkers, input.workersPerNode, input.workerPool.maxNodes);
  const workerNodes = poolCost(input.workerPool, nodes);
  const otherPools = input.otherPools.reduce((sum, pool) => sum + poolCost(pool, pool.minNodes), 0);
  if (missing.length > 0) return { missing };
  return {
    cost: {
      workerNodes,
      otherPools,
      clusterFee: GKE_CLUSTER_FEE_PER_HOUR,
      total: workerNodes + otherPools + GKE_CLUSTER_FEE_PER_HOUR,
      excluded: [...excluded],
    },
    missing,
  };
}

/**
 * "scaling: drain, up to 30 workers on 10 × e2-standard-4 spot nodes (3 per node); ≈ $0.74/h at
 * full scale: worker nodes $0.57/h, other pools at their minimum $0.07/h, GKE cluster fee $0.100/h
 * (us-central1 list prices as of 2025-06, approximate)".
 */
export function scalingSummary(input: FullScaleInput): string {
  const pool = input.workerPool;
  const nodes = workerNodesFor(input.maxWorkers, input.workersPerNode, pool.maxNodes);
  const head =
    `scaling: ${input.mode}, up to ${input.maxWorkers} workers on ${nodes} × ${pool.machineType}${pool.spot ? ' spot' : ''} ` +
    `node${nodes === 1 ? '' : 's'} (${input.workersPerNode} per node)`;
  const { cost, missing } = estimateFullScaleCost(input);
  if (!cost) return `${head}; no cost estimate: ${missing.join(', ')}`;
  const parts = [`worker nodes ${formatHourly(cost.workerNodes)}`];
  if (input.otherPools.length > 0) parts.push(`other pools at their minimum ${formatHourly(cost.otherPools)}`);
  parts.push(`GKE cluster fee ${formatHourly(cost.clusterFee)}`);
  const excluded = cost.excluded.length > 0 ? `; ${cost.excluded.join(' and ')} not included` : '';
  return `${head}; ≈ ${formatHourly(cost.total)} at full scale: ${parts.join(', ')} (${PRICE_SOURCE}${excluded})`;
}
