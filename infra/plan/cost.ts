/**
 * The scaling plan in money: the nodes at full scale and what they cost per hour, as one line for
 * `pulumi preview`. Pure.
 */
import type { ScalingMode } from './defaults';
import {
  estimateDiskHourlyCost,
  estimateHourlyCost,
  formatHourly,
  GKE_CLUSTER_FEE_PER_HOUR,
  PRICE_SOURCE,
} from './pricing';

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
    `scaling: ${input.mode}, up to ${input.maxWorkers} workers on ${nodes} × ` +
    `${pool.machineType}${pool.spot ? ' spot' : ''} ` +
    `node${nodes === 1 ? '' : 's'} (${input.workersPerNode} per node)`;
  const { cost, missing } = estimateFullScaleCost(input);
  if (!cost) return `${head}; no cost estimate: ${missing.join(', ')}`;
  const parts = [`worker nodes ${formatHourly(cost.workerNodes)}`];
  if (input.otherPools.length > 0) parts.push(`other pools at their minimum ${formatHourly(cost.otherPools)}`);
  parts.push(`GKE cluster fee ${formatHourly(cost.clusterFee)}`);
  const excluded = cost.excluded.length > 0 ? `; ${cost.excluded.join(' and ')} not included` : '';
  return `${head}; ≈ ${formatHourly(cost.total)} at full scale: ${parts.join(', ')} (${PRICE_SOURCE}${excluded})`;
}
