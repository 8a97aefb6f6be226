/** Stack outputs derived from the validated config: the sizing plan, the scaling plan and the commands to watch
 * workers. Pure. */
import { estimateFullScaleCost, FullScaleInput, scalingSummary } from './cost';
import { K8S_NAMES, WORKER_SELECTOR } from './names';
import { PRICE_SOURCE } from './pricing';
import type { StackConfig } from './types';

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

/** The scaling plan as the cost estimate sees it: the workers' pool at full scale, the others at their minimum. */
export function fullScaleInput(config: StackConfig): FullScaleInput {
  return {
    mode: config.scaling.mode,
    maxWorkers: config.scaling.maxWorkers,
    workersPerNode: config.plan.workersPerNode,
    workerPool: config.workerPool,
    otherPools: config.nodePools.filter((pool) => pool !== config.workerPool),
  };
}

/** The scaling plan as a stack output: mode, most workers, nodes at full scale and the cost estimate. */
export function scalingOutput(config: StackConfig) {
  const input = fullScaleInput(config);
  const { cost, missing } = estimateFullScaleCost(input);
  return {
    mode: config.scaling.mode,
    maxWorkers: config.scaling.maxWorkers,
    workerNodesAtFullScale: config.scaling.workerNodes,
    ...(config.scaling.mode === 'drain'
      ? { job: config.scaling.jobName, resizeRunningJob: resizeJobCommand(config) }
      : { queueLength: config.scaling.queueLength }),
    estimatedUsdPerHourAtFullScale: cost ? Math.round(cost.total * 1000) / 1000 : null,
    estimateBasis: cost ? PRICE_SOURCE : `no estimate: ${missing.join(', ')}`,
    summary: scalingSummary(input),
  };
}

/** The kubectl command that changes a running drain Job's parallelism in place (Pulumi leaves it alone). */
export function resizeJobCommand(config: StackConfig): string {
  return (
    `kubectl -n ${config.workers.namespace} patch job ${config.scaling.jobName} --type merge ` +
    `-p '{"spec":{"parallelism":${config.scaling.maxWorkers}}}'`
  );
}

/** What the program says on every drain-mode preview about what replaces the Job and what does not. */
export function drainRunNotice(config: StackConfig): string {
  const { run, jobName, maxWorkers } = config.scaling;
  return (
    `drain: run ${run} is Job ${jobName} with parallelism ${maxWorkers}. A new image or worker setting REPLACES ` +
    'the running Job (Kubernetes cannot change its pod template): its workers release their tasks and a new Job ' +
    'carries on with the queue. A new scaling.maxWorkers does NOT change a running Job (the Kubernetes provider ' +
    'would replace it to do so): new runs get it; resize the running one in place with: ' +
    resizeJobCommand(config)
  );
}

/** The exact commands to reach the cluster and watch the workers. */
export function watchCommands(config: StackConfig): string[] {
  const ns = config.workers.namespace;
  const selector = WORKER_SELECTOR;
  return [
    `gcloud container clusters get-credentials ${config.clusterName} --location ${config.location} --project ` +
      `${config.project}`,
    ...(config.scaling.mode === 'drain'
      ? [
          `kubectl -n ${ns} get job ${config.scaling.jobName} --watch`,
          `kubectl -n ${ns} wait --for=condition=complete job/${config.scaling.jobName} --timeout=24h`,
        ]
      : [
          `kubectl -n ${ns} get scaledobject ${K8S_NAMES.deployment}`,
          `kubectl -n ${ns} get hpa keda-hpa-${K8S_NAMES.deployment} --watch`,
        ]),
    `kubectl -n ${ns} get pods -l ${selector} -o wide --watch`,
    `kubectl -n ${ns} logs -l ${selector} --prefix --follow --max-log-requests ` +
      `${Math.max(5, Math.min(config.workers.replicas, 50))}`,
    `kubectl get nodes -l cloud.google.com/gke-nodepool=${config.workerPool.name} --watch`,
    `kubectl -n ${ns} top pods -l ${selector}`,
    `npm run status -- --queue ${config.queueUrl}`,
  ];
}
