/**
 * The cluster part of `status --cluster` as lines for people (the block under the queue's numbers)
 * and as one plain line per sample for `--watch` into a file. Pure: a ClusterReport in, text out.
 */
import { EXIT_BAD_CONFIG, EXIT_OK, EXIT_QUEUE_REFUSED, EXIT_STOPPED_BEFORE_DRAINED } from '../exitCodes';
import type { ClusterReport, ClusterSeen, CountOf, DeploymentView, JobView, PodView } from './clusterReport';
import { POD_PHASES } from './clusterReport';
import { alignColumns, formatCount, truncate } from './units';

/** Pods listed one per line under the summary; `--json` has up to ten. */
export const PODS_SHOWN = 5;
const MESSAGE_WIDTH = 100;
/** The label column of `status`'s lines ("throughput  ", "workers     "). */
const LABEL_WIDTH = 12;

const label = (name: string) => name.padEnd(LABEL_WIDTH);

/** What the worker's exit code means (lib/exitCodes.ts), and the signals Kubernetes kills with. */
export function exitCodeMeaning(code: number): string | null {
  switch (code) {
    case EXIT_OK:
      return 'queue drained';
    case EXIT_QUEUE_REFUSED:
      return 'the queue refused the worker';
    case EXIT_BAD_CONFIG:
      return 'bad configuration';
    case EXIT_STOPPED_BEFORE_DRAINED:
      return 'stopped before the queue drained';
    case 137:
      return 'SIGKILL: memory limit, or no exit within the grace period';
    case 143:
      return 'SIGTERM';
    default:
      return null;
  }
}

function exitText(code: number): string {
  const meaning = exitCodeMeaning(code);
  return meaning ? `exit ${code} (${meaning})` : `exit ${code}`;
}

/** The lines `status --cluster` adds: where it looked, the workload, the pods, the nodes. */
export function renderCluster(report: ClusterReport): string[] {
  if (!report.reachable) return [renderUnreachable(report)];
  const lines = [
    `${label('cluster')}${report.server} (${report.context ? `context ${report.context}, ` : ''}namespace ` +
      `${report.namespace}, pods -l ${report.selector})`,
  ];
  if (report.note) lines.push(`${label('')}${report.note}`);
  for (const workload of report.workloads) {
    lines.push(workload.kind === 'Job' ? renderJob(workload) : renderDeployment(workload));
  }
  if (report.workloads.length === 0) lines.push(`${label('workload')}no Job or Deployment of the workers`);
  lines.push(...renderPods(report));
  lines.push(renderNodes(report));
  return lines;
}

/** The one line an unreachable API gets: which server, what happened, how to fix it. */
export function renderUnreachable(report: Extract<ClusterReport, { reachable: false }>): string {
  const where = report.server === null ? '' : ` at ${report.server}`;
  return `${label('cluster')}cannot reach the Kubernetes API${where}: ${report.problem}; ${report.fix}`;
}

export function renderJob(job: JobView): string {
  const state = job.state === 'failed' && job.reason ? `failed (${job.reason})` : job.state;
  const sizing = [
    job.parallelism === null ? null : `parallelism ${job.parallelism}`,
    job.completions === null ? null : `completions ${job.completions}`,
  ].filter((part) => part !== null);
  return (
    `${label('job')}${job.name}: ${state}, ${formatCount(job.active)} active (${formatCount(job.ready)} ready), ` +
    `${formatCount(job.succeeded)} succeeded, ${formatCount(job.failed)} failed` +
    (sizing.length > 0 ? `; ${sizing.join(', ')}` : '')
  );
}

export function renderDeployment(deployment: DeploymentView): string {
  return (
    `${label('deployment')}${deployment.name}: ${formatCount(deployment.ready)} of ` +
    `${formatCount(deployment.replicas)} replicas ready (${formatCount(deployment.current)} current, ` +
    `${formatCount(deployment.updated)} updated, ${formatCount(deployment.available)} available)`
  );
}

const counted = <T>(counts: readonly CountOf<T>[], text: (value: T) => string) =>
  counts.map(({ value, count }) => `${formatCount(count)} ${text(value)}`).join(', ');

function renderPods(report: ClusterSeen): string[] {
  const pods = report.pods;
  if (pods.total === 0) return [`${label('pods')}none`];
  const phases = POD_PHASES.filter((phase) => pods.phases[phase] > 0)
    .map((phase) => `${formatCount(pods.phases[phase])} ${phase}`)
    .join(', ');
  const extras = [
    pods.terminating > 0 ? `${formatCount(pods.terminating)} terminating` : null,
    `restarts ${formatCount(pods.restarts)}`,
    pods.oomKilled > 0 ? `${formatCount(pods.oomKilled)} OOMKilled` : null,
  ].filter((part) => part !== null);
  const lines = [`${label('pods')}${formatCount(pods.total)}: ${phases}; ${extras.join(', ')}`];
  const why = [
    pods.reasons.length > 0 ? counted(pods.reasons, (reason) => reason) : null,
    pods.exitCodes.length > 0 ? `failed with ${counted(pods.exitCodes, exitText)}` : null,
  ].filter((part) => part !== null);
  if (why.length > 0) lines.push(`${label('')}${why.join('; ')}`);
  const shown = pods.problems.slice(0, PODS_SHOWN);
  lines.push(...alignColumns(shown.map(podRow), ['left', 'left', 'left']).map((row) => `  ${row}`));
  const more = pods.troubled - shown.length;
  if (more > 0) {
    lines.push(`  … ${formatCount(more)} more: kubectl -n ${report.namespace} get pods -l ${report.selector}`);
  }
  return lines;
}

function podRow(pod: PodView): string[] {
  const what = [
    pod.reason,
    pod.exitCode !== null && (pod.phase === 'Failed' || pod.reason !== null) ? exitText(pod.exitCode) : null,
    pod.restarts > 0 ? `${formatCount(pod.restarts)} restart${pod.restarts === 1 ? '' : 's'}` : null,
  ]
    .filter((part) => part !== null)
    .join(', ');
  const message = pod.message ? `: ${truncate(pod.message, MESSAGE_WIDTH)}` : '';
  return [pod.name, pod.terminating ? `${pod.phase} (terminating)` : pod.phase, `${what}${message}`];
}

function renderNodes(report: ClusterSeen): string {
  const { total, ready, cordoned, pools } = report.nodes;
  if (total === 0) return `${label('nodes')}none (a pool at 0 nodes grows when pods wait for one)`;
  const pool = (p: ClusterSeen['nodes']['pools'][number]) => {
    const cordonedHere = p.cordoned > 0 ? `, ${formatCount(p.cordoned)} cordoned` : '';
    return `${p.pool} ${formatCount(p.total)} (${formatCount(p.ready)} Ready${cordonedHere})`;
  };
  return (
    `${label('nodes')}${formatCount(total)}: ${formatCount(ready)} Ready, ${formatCount(total - ready)} not ready, ` +
    `${formatCount(cordoned)} cordoned; by pool: ${pools.map(pool).join(', ')}`
  );
}

/** One plain line per sample for `--watch` into a file or pipe. */
export function renderClusterWatchLine(report: ClusterReport): string {
  if (!report.reachable) return `cluster unreachable server=${report.server} problem=${JSON.stringify(report.problem)}`;
  const parts = ['cluster'];
  for (const w of report.workloads) {
    parts.push(
      w.kind === 'Job'
        ? `job=${w.name} state=${w.state} active=${w.active} succeeded=${w.succeeded} failed=${w.failed}`
        : `deployment=${w.name} replicas=${w.replicas} ready=${w.ready}`,
    );
  }
  const { pods, nodes } = report;
  parts.push(`pods=${pods.total}`);
  // Phases keep their capital (Running=3), so they never read as the Job's counts (succeeded=1).
  for (const phase of POD_PHASES) if (pods.phases[phase] > 0) parts.push(`${phase}=${pods.phases[phase]}`);
  for (const { value, count } of pods.reasons) parts.push(`${value}=${count}`);
  parts.push(`restarts=${pods.restarts}`, `nodes=${nodes.total}`, `nodesReady=${nodes.ready}`);
  if (nodes.cordoned > 0) parts.push(`cordoned=${nodes.cordoned}`);
  return parts.join(' ');
}
