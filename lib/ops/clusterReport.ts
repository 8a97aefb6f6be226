/**
 * `status --cluster`: what the Kubernetes API says about the workers, summarised. Pure: the objects
 * the client listed (typed by @kubernetes/client-node's models, imported as types only) in, one
 * plain object out, which `--json` prints and lib/ops/clusterRender.ts turns into lines.
 * The fetching lives in lib/ops/clusterFetch.ts.
 */
import type { V1ContainerStatus, V1Deployment, V1Job, V1Node, V1Pod } from '@kubernetes/client-node';

/** The objects one look at the cluster lists: the workers' workloads and pods, and every node. */
export interface ClusterObjects {
  readonly jobs: readonly V1Job[];
  readonly deployments: readonly V1Deployment[];
  readonly pods: readonly V1Pod[];
  readonly nodes: readonly V1Node[];
}

/** Where `status` looked: the API server, the kubeconfig context, the namespace and the pods' selector. */
export interface ClusterTarget {
  /** `null` when no kubeconfig (or no cluster in it) was found. */
  readonly server: string | null;
  /** The kubeconfig file(s) read, as kubectl would name them. */
  readonly kubeconfig: string;
  readonly context: string | null;
  readonly namespace: string;
  readonly selector: string;
}

export interface JobView {
  readonly kind: 'Job';
  readonly name: string;
  /** running, complete, failed or suspended (from the Job's conditions). */
  readonly state: 'running' | 'complete' | 'failed' | 'suspended';
  /** Why a failed Job failed (its Failed condition's reason and message). */
  readonly reason: string | null;
  readonly active: number;
  readonly ready: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly parallelism: number | null;
  /** `null` for a work-queue Job (the drain Job sets none). */
  readonly completions: number | null;
}

export interface DeploymentView {
  readonly kind: 'Deployment';
  readonly name: string;
  /** The replicas asked for (KEDA sets them in continuous mode). */
  readonly replicas: number;
  readonly current: number;
  readonly ready: number;
  readonly available: number;
  readonly updated: number;
}

export type WorkloadView = JobView | DeploymentView;

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export type PodPhase = (typeof POD_PHASES)[number];

/** One pod as `status` tells it. */
export interface PodView {
  readonly name: string;
  readonly phase: PodPhase;
  /** Being deleted (its deletionTimestamp is set). */
  readonly terminating: boolean;
  /**
   * Why it is not simply running: Unschedulable, ContainerCreating, ImagePullBackOff, ErrImagePull,
   * CrashLoopBackOff, OOMKilled, Error, Evicted, ...; `null` when running (or done) without trouble.
   */
  readonly reason: string | null;
  /** The message that goes with the reason (the scheduler's, the kubelet's), first line only. */
  readonly message: string | null;
  /** The worker's exit code once it ended (or, while restarting, the last one). */
  readonly exitCode: number | null;
  readonly restarts: number;
  /** A container was killed for using more than its memory limit (now or on its last run). */
  readonly oomKilled: boolean;
  readonly node: string | null;
}

export interface CountOf<T> {
  readonly value: T;
  readonly count: number;
}

export interface PodsSummary {
  readonly total: number;
  readonly phases: Readonly<Record<PodPhase, number>>;
  readonly terminating: number;
  /** How many pods have each reason, most first. */
  readonly reasons: readonly CountOf<string>[];
  /** Exit codes of the pods that failed, most first. */
  readonly exitCodes: readonly CountOf<number>[];
  /** Container restarts, summed over the pods. */
  readonly restarts: number;
  /** Pods with a container OOMKilled. */
  readonly oomKilled: number;
  /** How many pods are worth a look: they have a reason, a restart or failed. */
  readonly troubled: number;
  /** The first of them (failures first), at most {@link MAX_PROBLEM_PODS}. */
  readonly problems: readonly PodView[];
}

export interface NodePoolView {
  /** GKE's node pool label; `(none)` for nodes without one. */
  readonly pool: string;
  readonly total: number;
  readonly ready: number;
  /** Marked unschedulable (kubectl cordon, or a node being drained or upgraded). */
  readonly cordoned: number;
}

export interface NodesSummary {
  readonly total: number;
  readonly ready: number;
  readonly cordoned: number;
  readonly pools: readonly NodePoolView[];
}

export interface ClusterSeen extends ClusterTarget {
  readonly reachable: true;
  readonly time: string;
  readonly workloads: readonly WorkloadView[];
  readonly pods: PodsSummary;
  readonly nodes: NodesSummary;
  /** Set when nothing of the workers was found: why that may be (e.g. the namespace does not exist). */
  readonly note: string | null;
}

export interface ClusterUnreachable extends ClusterTarget {
  readonly reachable: false;
  readonly time: string;
  /** What went wrong, in one line (the server's or the network's answer). */
  readonly problem: string;
  /** What to do about it, in one line. */
  readonly fix: string;
}

/** The `cluster` key of `status --cluster --json` (documented in docs/operations.md; keep keys stable). */
export type ClusterReport = ClusterSeen | ClusterUnreachable;

export const MAX_PROBLEM_PODS = 10;
/** GKE's label naming a node's pool. */
export const NODE_POOL_LABEL = 'cloud.google.com/gke-nodepool';
const NO_POOL = '(none)';

export function summariseCluster(target: ClusterTarget, objects: ClusterObjects, at: number): ClusterSeen {
  const workloads = [...objects.jobs.map(jobView), ...objects.deployments.map(deploymentView)].sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  return {
    ...target,
    reachable: true,
    time: new Date(at).toISOString(),
    workloads,
    pods: summarisePods(objects.pods.map(podView)),
    nodes: summariseNodes(objects.nodes),
    note: null,
  };
}

export function jobView(job: V1Job): JobView {
  const status = job.status ?? {};
  const condition = (type: string) => status.conditions?.find((c) => c.type === type && c.status === 'True');
  const failed = condition('Failed');
  const state = failed
    ? 'failed'
    : condition('Complete')
      ? 'complete'
      : job.spec?.suspend || condition('Suspended')
        ? 'suspended'
        : 'running';
  return {
    kind: 'Job',
    name: job.metadata?.name ?? '?',
    state,
    reason: failed ? firstLine([failed.reason, failed.message].filter(Boolean).join(': ')) : null,
    active: status.active ?? 0,
    ready: status.ready ?? 0,
    succeeded: status.succeeded ?? 0,
    failed: status.failed ?? 0,
    parallelism: job.spec?.parallelism ?? null,
    completions: job.spec?.completions ?? null,
  };
}

export function deploymentView(deployment: V1Deployment): DeploymentView {
  const status = deployment.status ?? {};
  return {
    kind: 'Deployment',
    name: deployment.metadata?.name ?? '?',
    replicas: deployment.spec?.replicas ?? 1,
    current: status.replicas ?? 0,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    updated: status.updatedReplicas ?? 0,
  };
}

function asPhase(phase: string | undefined): PodPhase {
  return (POD_PHASES as readonly string[]).includes(phase ?? '') ? (phase as PodPhase) : 'Unknown';
}

/** The first container that says something is wrong, in the order a person would look. */
function troubledContainer(statuses: readonly V1ContainerStatus[]): V1ContainerStatus | undefined {
  return (
    statuses.find((s) => s.state?.waiting?.reason) ??
    statuses.find((s) => s.state?.terminated && s.state.terminated.exitCode !== 0) ??
    statuses.find((s) => s.state?.terminated)
  );
}

export function podView(pod: V1Pod): PodView {
  const status = pod.status ?? {};
  const phase = asPhase(status.phase);
  const containers = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  const restarts = containers.reduce((sum, s) => sum + (s.restartCount ?? 0), 0);
  const oomKilled = containers.some(
    (s) => s.state?.terminated?.reason === 'OOMKilled' || s.lastState?.terminated?.reason === 'OOMKilled',
  );
  const container = troubledContainer(containers);
  const waiting = container?.state?.waiting;
  const terminated = container?.state?.terminated;
  // While a container waits to restart, its last run says how it ended.
  const ended = terminated ?? container?.lastState?.terminated;
  const unscheduled = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');

  let reason: string | null = null;
  let message: string | null = null;
  if (phase === 'Pending' && unscheduled) {
    reason = unscheduled.reason ?? 'Unschedulable';
    message = unscheduled.message ?? null;
  } else if (waiting?.reason) {
    reason = waiting.reason;
    message = waiting.message ?? (ended ? `last run ended: ${ended.reason ?? 'exit'} ${ended.exitCode}` : null);
  } else if (phase === 'Failed') {
    // The pod's own reason (Evicted, DeadlineExceeded) outranks its container's (OOMKilled, Error).
    reason = status.reason ?? terminated?.reason ?? 'Failed';
    message = status.message ?? terminated?.message ?? null;
  } else if (terminated && terminated.exitCode !== 0) {
    reason = terminated.reason ?? 'Error';
    message = terminated.message ?? null;
  }
  return {
    name: pod.metadata?.name ?? '?',
    phase,
    terminating: Boolean(pod.metadata?.deletionTimestamp),
    reason,
    message: message === null ? null : firstLine(message),
    exitCode: ended?.exitCode ?? null,
    restarts,
    oomKilled,
    node: pod.spec?.nodeName ?? null,
  };
}

function countOf<T>(values: readonly T[]): CountOf<T>[] {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count);
}

export function summarisePods(pods: readonly PodView[]): PodsSummary {
  const phases = Object.fromEntries(POD_PHASES.map((phase) => [phase, 0])) as Record<PodPhase, number>;
  for (const pod of pods) phases[pod.phase]++;
  const worthALook = (pod: PodView) => pod.reason !== null || pod.restarts > 0 || pod.phase === 'Failed';
  // Failures first, then the pods kept from running, then the restarted ones.
  const rank = (pod: PodView) => (pod.phase === 'Failed' ? 0 : pod.reason !== null ? 1 : 2);
  const troubled = pods.filter(worthALook);
  return {
    total: pods.length,
    phases,
    terminating: pods.filter((pod) => pod.terminating).length,
    reasons: countOf(pods.flatMap((pod) => (pod.reason === null ? [] : [pod.reason]))),
    exitCodes: countOf(pods.flatMap((pod) => (pod.phase === 'Failed' && pod.exitCode !== null ? [pod.exitCode] : []))),
    restarts: pods.reduce((sum, pod) => sum + pod.restarts, 0),
    oomKilled: pods.filter((pod) => pod.oomKilled).length,
    troubled: troubled.length,
    problems: troubled.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name)).slice(0, MAX_PROBLEM_PODS),
  };
}

export function summariseNodes(nodes: readonly V1Node[]): NodesSummary {
  const pools = new Map<string, { total: number; ready: number; cordoned: number }>();
  let ready = 0;
  let cordoned = 0;
  for (const node of nodes) {
    const pool = node.metadata?.labels?.[NODE_POOL_LABEL] ?? NO_POOL;
    const entry = pools.get(pool) ?? { total: 0, ready: 0, cordoned: 0 };
    const isReady = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    const isCordoned = node.spec?.unschedulable === true;
    entry.total++;
    if (isReady) entry.ready++;
    if (isCordoned) entry.cordoned++;
    ready += isReady ? 1 : 0;
    cordoned += isCordoned ? 1 : 0;
    pools.set(pool, entry);
  }
  return {
    total: nodes.length,
    ready,
    cordoned,
    pools: [...pools].map(([pool, counts]) => ({ pool, ...counts })).sort((a, b) => a.pool.localeCompare(b.pool)),
  };
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim();
}
