/**
 * How the stack's worker pods are found in a cluster: their labels, the run label of drain Jobs and
 * the default namespace. A contract shared by the stack (infra/plan puts them on the pods) and
 * `npm run status -- --cluster` (selects the pods by them), so it lives here, in lib/.
 */

/** The `app.kubernetes.io/name` of every worker pod; kubectl commands select the workers by it. */
export const APP_NAME_LABEL = 'gke-batch-worker';

/** Labels on every worker pod, its Job or Deployment; the workload's selector uses them. */
export const WORKER_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/name': APP_NAME_LABEL,
  'app.kubernetes.io/part-of': 'gke-batch',
  'app.kubernetes.io/component': 'worker',
};

/** Pod (and Job) label carrying the drain run id, for `kubectl get pods -l gke-batch/run=<id>`. */
export const RUN_LABEL = 'gke-batch/run';

/** The label selector for the worker pods (what `kubectl get pods -l ...` takes). */
export const WORKER_SELECTOR = `app.kubernetes.io/name=${APP_NAME_LABEL}`;

/** The stack's default namespace for the workers (stack config `workers.namespace`). */
export const DEFAULT_WORKER_NAMESPACE = 'batch-workers';
