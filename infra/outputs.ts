/** Stack outputs derived from the validated config: the sizing plan and the commands to watch workers. Pure. */
import { K8S_NAMES, WORKER_APP_LABEL } from './names';
import type { StackConfig } from './validate';

/** The sizing plan as a stack output: numbers with their units in the names. */
export function sizingOutput(config: StackConfig) {
  const { plan } = config;
  return {
    machineType: plan.machineType,
    minNodes: plan.minNodes,
    maxNodes: plan.maxNodes,
    workersPerNode: plan.workersPerNode,
    limitedBy: plan.limitedBy,
    capacity: plan.capacity,
    replicas: plan.replicas,
    replicasMode: config.workers.replicasMode,
    nodesNeeded: plan.nodesNeeded,
    allocatableCpuMillis: Math.round(plan.allocatable.cpuMillis),
    allocatableMemoryMiB: Math.round(plan.allocatable.memoryMiB),
    availableCpuMillis: Math.round(plan.availableForWorkers.cpuMillis),
    availableMemoryMiB: Math.round(plan.availableForWorkers.memoryMiB),
    idleCpuMillisPerNode: Math.round(plan.idlePerNode.cpuMillis),
    idleMemoryMiBPerNode: Math.round(plan.idlePerNode.memoryMiB),
    idleCpuPercent: plan.idleCpuPercent,
    idleMemoryPercent: plan.idleMemoryPercent,
    summary: plan.summary,
  };
}

/** The exact commands to reach the cluster and watch the workers. */
export function watchCommands(config: StackConfig): string[] {
  const ns = config.workers.namespace;
  const selector = `app.kubernetes.io/name=${WORKER_APP_LABEL}`;
  return [
    `gcloud container clusters get-credentials ${config.clusterName} --location ${config.location} --project ${config.project}`,
    `kubectl -n ${ns} rollout status deployment/${K8S_NAMES.deployment} --watch=false`,
    `kubectl -n ${ns} get pods -l ${selector} -o wide --watch`,
    `kubectl -n ${ns} logs -l ${selector} --prefix --follow --max-log-requests ${Math.max(5, Math.min(config.workers.replicas, 50))}`,
    `kubectl get nodes -l cloud.google.com/gke-nodepool=${config.workerPool.name} --watch`,
    `kubectl -n ${ns} top pods -l ${selector}`,
    `npm run status -- --queue ${config.queueUrl}`,
  ];
}
