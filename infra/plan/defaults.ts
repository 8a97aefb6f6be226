/**
 * The stack's fixed numbers and defaults, in one leaf module every other plan module may import
 * (keeping them here, not beside the code that first used them, is what keeps the plan acyclic).
 */

export const SCALING_MODES = ['drain', 'continuous'] as const;
export type ScalingMode = (typeof SCALING_MODES)[number];

/** Seconds a spot node's pods get for a graceful shutdown when the VM is preempted (of its 30 s notice). */
export const SPOT_SHUTDOWN_SECONDS = 15;

/** Seconds a worker needs after its grace period to abort running tasks and release their leases. */
export const RELEASE_SECONDS = 5;

/**
 * A lease longer than this on spot workers is warned about: a preempted worker's tasks stay
 * invisible (leased by a dead worker) until their lease runs out.
 */
export const SPOT_LEASE_WARNING_SECONDS = 60 * 60;

/**
 * Seconds between the end of the worker's grace period and SIGKILL: time to abort running tasks
 * and release their leases, so they are retried at once instead of after the lease expires.
 */
export const TERMINATION_MARGIN_SECONDS = 10;

/** A fixed non-root uid/gid (the image's USER should match; runAsNonRoot needs a number). */
export const POD_UID = 10001;

/** Default size limit of the pod's `/tmp` (an emptyDir on the node's boot disk), and its ephemeral-storage request. */
export const DEFAULT_TMP_SIZE = '2Gi';

/**
 * The port of the worker's `/healthz` and `/metrics` (the `metricsPort` setting). The liveness probe
 * asks it: task code runs in worker threads, so the main thread answers even during CPU-bound
 * tasks (issue 14); Kubernetes stops liveness probes once a pod is terminating, so the 503 a
 * worker answers while it shuts down never kills it mid-grace.
 */
export const WORKER_HEALTH_PORT = 9090;
/** Seconds between liveness checks, and failed checks in a row before the container is restarted (60 s). */
export const LIVENESS_PERIOD_SECONDS = 10;
export const LIVENESS_FAILURE_THRESHOLD = 6;
/** Each check may take this long (a loaded node answers slowly; the thread is never busy with tasks). */
export const LIVENESS_TIMEOUT_SECONDS = 5;
/** A worker may take this long to open its queue before the liveness probe starts (startup probe). */
export const STARTUP_SECONDS = 300;

// --- drain mode -------------------------------------------------------------------------------

/** Kubernetes' own default `backoffLimit`: the least the drain Job tolerates, however few workers. */
export const MIN_BACKOFF_LIMIT = 6;
/** Worker crashes tolerated per worker of parallelism, on top of the poison tasks below. */
export const BACKOFF_PER_WORKER = 2;
/**
 * Tasks that kill their worker (OOM, segfault) on every attempt the Job survives by default:
 * each costs up to workers.maxAttempts crashes before the worker dead-letters it.
 */
export const POISON_TASKS_TOLERATED = 2;

/**
 * The drain Job's default `backoffLimit`: it grows with the workers, so two poison tasks that
 * OOM their pods never abort a batch of dozens of workers (a single Job-wide 6 did).
 */
export function defaultBackoffLimit(parallelism: number, maxAttempts: number): number {
  return Math.max(MIN_BACKOFF_LIMIT, BACKOFF_PER_WORKER * parallelism) + POISON_TASKS_TOLERATED * maxAttempts;
}

// --- continuous mode (KEDA) -------------------------------------------------------------------

/** KEDA's Helm chart version (chart and app versions are equal). 2.20 is tested on Kubernetes 1.33–1.35. */
export const KEDA_CHART_VERSION = '2.20.2';
/** The KEDA project's official chart repository. */
export const KEDA_CHART_REPO = 'https://kedacore.github.io/charts';
/** Namespace KEDA is installed into. */
export const KEDA_NAMESPACE = 'keda';
/** Ports the control plane must reach on the nodes for KEDA: its metrics API server and its webhooks. */
export const KEDA_CONTROL_PLANE_PORTS = ['6443', '9443'] as const;

/** Defaults KEDA itself uses for the trigger and the ScaledObject. */
export const DEFAULT_QUEUE_LENGTH = 5;
export const DEFAULT_POLLING_INTERVAL_SECONDS = 30;
export const DEFAULT_COOLDOWN_SECONDS = 300;
/** The replica count a KEDA-owned Deployment is created with: none until KEDA sees tasks. */
export const KEDA_INITIAL_REPLICAS = 0;

// --- cluster ----------------------------------------------------------------------------------

/** The system pool may grow to this many nodes: KEDA plus GKE's own pods outgrow one e2-standard-2. */
export const SYSTEM_POOL_MAX_NODES = 2;
