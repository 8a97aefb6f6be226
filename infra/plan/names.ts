/** Names derived from the cluster name, kept within the limits of the APIs that take them. Pure. */

/**
 * A Google service account id for one role of the stack ("gke-batch-nodes"): 6–30 characters,
 * lowercase letters, digits and hyphens, starting with a letter. Long cluster names are cut, not
 * rejected, so any valid cluster name works.
 */
export function serviceAccountId(clusterName: string, role: string): string {
  const room = 30 - role.length - 1;
  const prefix = clusterName.slice(0, room).replace(/-+$/, '');
  const id = `${prefix}-${role}`;
  return id.length >= 6 ? id : `${id}-sa`.slice(0, 30);
}

/** The label every worker pod carries (lib/workerPods.ts: `status --cluster` selects by it too). */
export { APP_NAME_LABEL, WORKER_SELECTOR } from '../../lib/workerPods';

/** Names of the Kubernetes objects the stack creates, fixed so the kubectl commands are exact. */
export const K8S_NAMES = {
  deployment: 'workers',
  /** Prefix of the drain-mode Job: `workers-run-<run id>`. */
  job: 'workers',
  serviceAccount: 'worker',
  awsSecret: 'aws-credentials',
  container: 'worker',
  /** The PodMonitoring that sends the workers' /metrics to managed Prometheus. */
  podMonitoring: 'workers',
} as const;
