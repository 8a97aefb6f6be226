/**
 * Checks of the workers against their pool: requests that fit a node, GPUs, replicas, grace and
 * lease on spot nodes, the namespace. Pure; resolves the task-setting defaults.
 */
import { didYouMean } from '../../lib/suggest';
import { MAIN_THREAD_RESERVE_MB, MIN_TASK_HEAP_MB, workerMemoryFloorMb } from '../../lib/workerMemory';
import { checkSpotLease, Report } from './checkEndpoints';
import { RELEASE_SECONDS, SPOT_SHUTDOWN_SECONDS } from './defaults';
import { namespaceProblem } from './k8sNames';
import { floorTo, formatCpu, parseCpuMillis, parseMemoryMiB } from './quantity';
import type { WorkersInput } from './schema';
import { fitOnNode, planWorkers, SystemOverhead } from './sizing';
import type { NodePool, TaskDefaults, Workers } from './types';

export function checkWorkers(
  input: WorkersInput,
  pools: readonly NodePool[],
  overhead: SystemOverhead,
  defaults: TaskDefaults,
  { problems, warnings }: Report,
) {
  const before = problems.length;
  const nsProblem = namespaceProblem(input.namespace);
  if (nsProblem) problems.push(`workers.namespace ${input.namespace}: ${nsProblem}`);
  const pool = pools.find((p) => p.name === input.nodePool);
  if (!pool) {
    const names = pools.map((p) => p.name);
    problems.push(
      `workers.nodePool ${input.nodePool}: no node pool has this name; ` +
        `${didYouMean(input.nodePool, names) || `use one of ${names.join(', ')}`}`,
    );
    return undefined;
  }
  const where = `${pool.machine.name} (pool ${pool.name})`;
  if (pool.machine.sharedCore) {
    problems.push(
      `nodePools[${pools.indexOf(pool)}].machineType ${pool.machine.name}: shared-core machines burst above a ` +
        `fraction of a vCPU, so workers cannot be planned on them; use e2-standard-2 or larger for the workers' pool`,
    );
    return undefined;
  }
  if (pool.maxNodes === 0) {
    problems.push(
      `nodePools[${pools.indexOf(pool)}].maxNodes 0: the workers' pool ${pool.name} can never have a node; raise ` +
        `maxNodes`,
    );
  }

  // Both parsed already in config.ts: a value that does not parse never reaches this point.
  const cpuMillis = parseCpuMillis(input.cpu) ?? 0;
  const memoryMiB = parseMemoryMiB(input.memory) ?? 0;
  const memoryLimit = input.memoryLimit ?? input.memory;
  if ((parseMemoryMiB(memoryLimit) ?? 0) < memoryMiB) {
    problems.push(
      `workers.memoryLimit ${memoryLimit}: is below workers.memory ${input.memory}; set it to at least ` +
        `${input.memory} (or leave it unset to use workers.memory)`,
    );
  }

  const gpusPerNode = pool.gpu?.count ?? 0;
  const gpus = input.gpus ?? (gpusPerNode > 0 ? 1 : 0);
  if (gpus > 0 && gpusPerNode === 0) {
    problems.push(
      `workers.gpus ${gpus}: pool ${pool.name} has no GPUs; set nodePools[${pools.indexOf(pool)}].gpu or ` +
        `workers.gpus 0`,
    );
  } else if (gpus > gpusPerNode) {
    problems.push(`workers.gpus ${gpus}: ${where} nodes have ${gpusPerNode} GPUs; request at most ${gpusPerNode}`);
  }

  const fit = fitOnNode(pool.machine, { cpuMillis, memoryMiB, gpus: 0 }, 0, overhead);
  if (memoryMiB > fit.available.memoryMiB) {
    problems.push(
      `workers.memory ${input.memory}: does not fit on ${where}: at most ` +
        `${floorTo(fit.available.memoryMiB / 1024, 1)}Gi per worker is allocatable; ` +
        'lower workers.memory or pick a machine type with more memory',
    );
  }
  if (cpuMillis > fit.available.cpuMillis) {
    problems.push(
      `workers.cpu ${input.cpu}: does not fit on ${where}: at most ${Math.floor(fit.available.cpuMillis)}m ` +
        `(${formatCpu(fit.available.cpuMillis)}) per worker is allocatable; ` +
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
      `workers.replicas ${input.replicas}: pool ${pool.name} holds at most ${plan.capacity} workers ` +
        `(${plan.workersPerNode}/node × ${pool.maxNodes} nodes); ` +
        `raise nodePools[${pools.indexOf(pool)}].maxNodes to ${nodes}, or set replicas ${plan.capacity} or auto`,
    );
  }

  const graceSeconds = input.graceSeconds ?? defaults.graceSeconds;
  const leaseSeconds = input.leaseSeconds ?? defaults.leaseSeconds;
  const spotGrace = SPOT_SHUTDOWN_SECONDS - RELEASE_SECONDS;
  if (pool.spot && graceSeconds > spotGrace) {
    warnings.push(
      `workers.graceSeconds ${graceSeconds}: a preempted spot node gives pods about ${SPOT_SHUTDOWN_SECONDS} s, so ` +
        `tasks on it are not released and wait for ` +
        `their lease (${leaseSeconds} s) to expire; set workers.graceSeconds to ${spotGrace} or less to release them ` +
        `at once`,
    );
  }
  checkSpotLease(leaseSeconds, pool.spot, { problems, warnings });
  if (problems.length > before) return undefined;

  const concurrency = input.concurrency ?? defaults.concurrency;
  const floorMiB = workerMemoryFloorMb(concurrency);
  if ((parseMemoryMiB(memoryLimit) ?? 0) < floorMiB) {
    const parts = `${MAIN_THREAD_RESERVE_MB}Mi for its main thread, ${MIN_TASK_HEAP_MB}Mi per task heap`;
    warnings.push(
      `workers.memoryLimit ${memoryLimit}: a worker with ${concurrency} task thread(s) needs at least ` +
        `${floorMiB}Mi (${parts}), so its pods will be OOM-killed at start; ` +
        `raise workers.memory (and workers.memoryLimit) to ${floorMiB}Mi or more`,
    );
  }

  const { memoryLimit: _limit, gpus: _gpus, replicas: _replicas, ...rest } = input;
  const workers: Workers = {
    ...rest,
    memoryLimit,
    gpus,
    replicas: plan.replicas,
    replicasMode: input.replicas === 'auto' ? 'auto' : 'fixed',
    concurrency,
    leaseSeconds,
    graceSeconds,
    maxAttempts: input.maxAttempts ?? defaults.maxAttempts,
  };
  return { workers, pool, plan };
}
