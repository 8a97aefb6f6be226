/**
 * How many workers fit on a GKE node, and how much of the node sits idle. Pure and table-tested.
 *
 * allocatable = capacity − GKE's reservation brackets (− the 100 MiB eviction threshold for memory),
 * then the node's system DaemonSets take their requests, then workers fill what is left.
 * Facts: shared/reference/gke-node-sizing.md (GKE's node-sizing docs; the cluster autoscaler's
 * `reserved.go` uses the same brackets).
 */
import { formatCpu, formatMemory, toCpuQuantity, toMemoryQuantity } from './quantity';

export interface MachineCapacity {
  readonly vcpus: number;
  readonly memoryGiB: number;
}

export interface Resources {
  readonly cpuMillis: number;
  readonly memoryMiB: number;
}

/** What the node itself needs before any worker fits. */
export interface SystemOverhead {
  /** CPU requested by the system DaemonSets on every node, in millicores. */
  readonly cpuMillis: number;
  /** Memory requested by the system DaemonSets on every node, in MiB. */
  readonly memoryMiB: number;
  /**
   * Percent of allocatable memory held back because the cluster autoscaler's own model of a node
   * comes out 2–4 % lower than the documented formula: a pod that fits the formula but not the
   * autoscaler's model would never trigger a scale-up.
   */
  readonly memorySlackPercent: number;
}

/**
 * Defaults for a node with Workload Identity and Dataplane V2 (both on in this stack):
 * anetd 205m + fluentbit-gke 100m/200Mi + gke-metadata-server 100m/100Mi + gke-metrics-agent
 * 20m/100Mi + pdcsi-node 10m/20Mi + netd 10m + ip-masq-agent 10m ≈ 455m (rounded up to 460m)
 * and 420Mi. With the 3 % slack an e2-standard-4 keeps ≈3.46 vCPU and ≈12.5 GiB for workers, the
 * reference's example.
 */
export const DEFAULT_OVERHEAD: SystemOverhead = { cpuMillis: 460, memoryMiB: 420, memorySlackPercent: 3 };

/** GKE's default pod limit per node, and the system pods (DaemonSets, kube-dns, ...) that may share it. */
export const MAX_PODS_PER_NODE = 110;
export const SYSTEM_PODS_PER_NODE = 10;

/** Idle share of a node above which the plan suggests a better request. */
export const IDLE_WARNING_FRACTION = 0.15;

const EVICTION_THRESHOLD_MIB = 100;

/** Memory GKE reserves for the kubelet and the OS, in MiB, from the capacity in MiB. */
export function reservedMemoryMiB(capacityMiB: number): number {
  if (capacityMiB < 1024) return 255;
  const brackets: ReadonlyArray<readonly [upToGiB: number, fraction: number]> = [
    [4, 0.25],
    [8, 0.2],
    [16, 0.1],
    [128, 0.06],
    [Infinity, 0.02],
  ];
  let reserved = 0;
  let lowerMiB = 0;
  for (const [upToGiB, fraction] of brackets) {
    const upperMiB = upToGiB * 1024;
    if (capacityMiB <= lowerMiB) break;
    reserved += (Math.min(capacityMiB, upperMiB) - lowerMiB) * fraction;
    lowerMiB = upperMiB;
  }
  return reserved;
}

/** CPU GKE reserves, in millicores: 6 % of the 1st core, 1 % of the 2nd, 0.5 % of cores 3–4, 0.25 % above. */
export function reservedCpuMillis(vcpus: number): number {
  let reserved = 0;
  for (let core = 1; core <= vcpus; core++) {
    reserved += core === 1 ? 60 : core === 2 ? 10 : core <= 4 ? 5 : 2.5;
  }
  return reserved;
}

/** The node's allocatable CPU (millicores) and memory (MiB), by the documented formula. */
export function allocatable(machine: MachineCapacity): Resources {
  const capacityMiB = machine.memoryGiB * 1024;
  return {
    cpuMillis: machine.vcpus * 1000 - reservedCpuMillis(machine.vcpus),
    memoryMiB: capacityMiB - reservedMemoryMiB(capacityMiB) - EVICTION_THRESHOLD_MIB,
  };
}

/** What is left for workers on one node once the system DaemonSets (and the slack) are taken out. */
export function availableForWorkers(machine: MachineCapacity, overhead: SystemOverhead = DEFAULT_OVERHEAD): Resources {
  const node = allocatable(machine);
  return {
    cpuMillis: Math.max(0, node.cpuMillis - overhead.cpuMillis),
    memoryMiB: Math.max(0, node.memoryMiB * (1 - overhead.memorySlackPercent / 100) - overhead.memoryMiB),
  };
}

export interface WorkerRequest extends Resources {
  /** GPUs each worker requests (nvidia.com/gpu); 0 for CPU-only workers. */
  readonly gpus: number;
}

export type Limit = 'cpu' | 'memory' | 'gpu' | 'pods';

export interface NodeFit {
  readonly available: Resources;
  readonly workersPerNode: number;
  /** The resource that runs out first. */
  readonly limitedBy: Limit;
  readonly idle: Resources;
  /** Idle share of what was available to workers, 0–1. */
  readonly idleCpuFraction: number;
  readonly idleMemoryFraction: number;
}

/** How many workers of `request` fit on one node with `gpusPerNode` GPUs. */
export function fitOnNode(
  machine: MachineCapacity,
  request: WorkerRequest,
  gpusPerNode = 0,
  overhead: SystemOverhead = DEFAULT_OVERHEAD,
): NodeFit {
  const available = availableForWorkers(machine, overhead);
  const bounds: Array<[Limit, number]> = [
    ['cpu', Math.floor(available.cpuMillis / request.cpuMillis)],
    ['memory', Math.floor(available.memoryMiB / request.memoryMiB)],
    ['pods', MAX_PODS_PER_NODE - SYSTEM_PODS_PER_NODE],
  ];
  if (request.gpus > 0) bounds.push(['gpu', Math.floor(gpusPerNode / request.gpus)]);
  const [limitedBy, workersPerNode] = bounds.reduce((min, bound) => (bound[1] < min[1] ? bound : min));
  const idle = {
    cpuMillis: available.cpuMillis - workersPerNode * request.cpuMillis,
    memoryMiB: available.memoryMiB - workersPerNode * request.memoryMiB,
  };
  return {
    available,
    workersPerNode,
    limitedBy,
    idle,
    idleCpuFraction: available.cpuMillis > 0 ? idle.cpuMillis / available.cpuMillis : 0,
    idleMemoryFraction: available.memoryMiB > 0 ? idle.memoryMiB / available.memoryMiB : 0,
  };
}

export interface PlanInput {
  readonly machineTypeName: string;
  readonly machine: MachineCapacity;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly request: WorkerRequest;
  readonly gpusPerNode?: number;
  /** A fixed replica count, or "auto" for workers/node × max nodes. */
  readonly replicas: number | 'auto';
  readonly overhead?: SystemOverhead;
}

export interface SizingPlan {
  readonly machineType: string;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly workersPerNode: number;
  readonly limitedBy: Limit;
  /** Workers the pool holds at max nodes. */
  readonly capacity: number;
  /** The Deployment's replicas. */
  readonly replicas: number;
  /** Nodes the replicas need, at most maxNodes. */
  readonly nodesNeeded: number;
  readonly allocatable: Resources;
  readonly availableForWorkers: Resources;
  readonly idlePerNode: Resources;
  readonly idleCpuPercent: number;
  readonly idleMemoryPercent: number;
  /** Suggestions when more than 15 % of a node would sit idle. */
  readonly warnings: readonly string[];
  /** One line for `pulumi preview`. */
  readonly summary: string;
}

export function planWorkers(input: PlanInput): SizingPlan {
  const overhead = input.overhead ?? DEFAULT_OVERHEAD;
  const fit = fitOnNode(input.machine, input.request, input.gpusPerNode ?? 0, overhead);
  const capacity = fit.workersPerNode * input.maxNodes;
  const replicas = input.replicas === 'auto' ? capacity : input.replicas;
  const nodesNeeded = fit.workersPerNode > 0 ? Math.min(input.maxNodes, Math.ceil(replicas / fit.workersPerNode)) : 0;
  const plan = {
    machineType: input.machineTypeName,
    minNodes: input.minNodes,
    maxNodes: input.maxNodes,
    workersPerNode: fit.workersPerNode,
    limitedBy: fit.limitedBy,
    capacity,
    replicas,
    nodesNeeded,
    allocatable: allocatable(input.machine),
    availableForWorkers: fit.available,
    idlePerNode: fit.idle,
    idleCpuPercent: Math.round(fit.idleCpuFraction * 100),
    idleMemoryPercent: Math.round(fit.idleMemoryFraction * 100),
  };
  return { ...plan, warnings: idleWarnings(input, fit), summary: planSummary(input, fit, replicas) };
}

/**
 * When a node would sit more than 15 % idle: the request that uses the idle share with the same
 * number of workers, and, for the resource that limits the count, the request that fits one more.
 */
export function idleWarnings(input: Pick<PlanInput, 'machineTypeName' | 'request'>, fit: NodeFit): string[] {
  if (fit.workersPerNode === 0) return [];
  const n = fit.workersPerNode;
  const warnings: string[] = [];
  const check = (
    kind: 'cpu' | 'memory',
    fraction: number,
    idle: string,
    available: number,
    current: number,
    show: (v: number) => string,
  ) => {
    if (fraction <= IDLE_WARNING_FRACTION) return;
    const fill = show(available / n);
    const oneMore = fit.limitedBy === kind ? ` or lower it to ${show(available / (n + 1))} to fit ${n + 1}` : '';
    warnings.push(
      `${idle} (${Math.round(fraction * 100)} %) of each ${input.machineTypeName} node would sit idle with ` +
        `workers.${kind} ${show(current)}: ` +
        `raise it to ${fill} to use it with ${n} workers/node${oneMore}`,
    );
  };
  check(
    'cpu',
    fit.idleCpuFraction,
    formatCpu(fit.idle.cpuMillis),
    fit.available.cpuMillis,
    input.request.cpuMillis,
    toCpuQuantity,
  );
  check(
    'memory',
    fit.idleMemoryFraction,
    formatMemory(fit.idle.memoryMiB),
    fit.available.memoryMiB,
    input.request.memoryMiB,
    toMemoryQuantity,
  );
  return warnings;
}

/**
 * "e2-standard-4 × 0–10 nodes, 3 workers/node (1 vCPU, 3 GiB each), 30 workers, 0.46 vCPU and
 * 3.49 GiB idle per node".
 */
export function planSummary(input: PlanInput, fit: NodeFit, replicas: number): string {
  const nodes = input.minNodes === input.maxNodes ? `${input.maxNodes}` : `${input.minNodes}–${input.maxNodes}`;
  const gpu = input.request.gpus > 0 ? `, ${input.request.gpus} GPU` : '';
  const each = `${formatCpu(input.request.cpuMillis)}, ${formatMemory(input.request.memoryMiB)}${gpu} each`;
  const idle = `${formatCpu(fit.idle.cpuMillis)} and ${formatMemory(fit.idle.memoryMiB)} idle per node`;
  const mode = input.replicas === 'auto' ? 'auto' : 'fixed';
  return (
    `${input.machineTypeName} × ${nodes} nodes, ${fit.workersPerNode} workers/node (${each}), ${replicas} ` +
    `workers (${mode}), ${idle}`
  );
}
