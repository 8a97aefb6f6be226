/**
 * The worker pod template: one place for the container, its environment, resources, security
 * context and placement, shared by every workload that runs workers (the Deployment here; a Job or
 * a KEDA-scaled Deployment reuse it). Pure: plain objects in, a Kubernetes PodTemplateSpec out.
 */
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { K8S_NAMES, WORKER_APP_LABEL } from './names';
import type { NodePool, Workers } from './validate';

/** A fixed non-root uid/gid (the image's USER should match; runAsNonRoot needs a number). */
export const WORKER_UID = 10001;

/**
 * Seconds between the end of the worker's grace period and SIGKILL: time to abort running tasks
 * and release their leases, so they are retried at once instead of after the lease expires.
 */
export const TERMINATION_MARGIN_SECONDS = 10;

export const GPU_RESOURCE = 'nvidia.com/gpu';

/** A container with a plain `env` list, so a workload (the drain Job) can add to it. */
export type WorkerContainer = Omit<k8s.types.input.core.v1.Container, 'env'> & {
  env?: k8s.types.input.core.v1.EnvVar[];
};

/** The pod spec as plain data down to the containers (leaf values may be Outputs). */
export type WorkerPodSpec = Omit<k8s.types.input.core.v1.PodSpec, 'containers'> & { containers: WorkerContainer[] };

/** The worker pod template; it is a `PodTemplateSpec`, typed precisely so other workloads can adapt it. */
export interface WorkerPodTemplateSpec {
  metadata: { labels: Record<string, string> };
  spec: WorkerPodSpec;
}

export interface WorkerPodArgs {
  /** Image reference, by digest. */
  readonly image: pulumi.Input<string>;
  readonly workers: Workers;
  /** The pool the workers run on: its name selects the nodes, its taints are tolerated. */
  readonly pool: NodePool;
  /** TASKQUEUE_PATH */
  readonly queueUrl: string;
  /** CF_CLOUDPATH */
  readonly cloudpath: string;
  /** AWS_REGION */
  readonly awsRegion: string;
  /** Kubernetes Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY. */
  readonly awsSecretName: pulumi.Input<string>;
  readonly serviceAccountName: pulumi.Input<string>;
}

/** Labels on every worker pod; the workload's selector uses them. */
export function workerLabels(): Record<string, string> {
  return {
    'app.kubernetes.io/name': WORKER_APP_LABEL,
    'app.kubernetes.io/part-of': 'gke-batch',
    'app.kubernetes.io/component': 'worker',
  };
}

/** The task settings the worker reads (lib/config.ts), plus AWS credentials from the Secret. */
export function workerEnv(args: WorkerPodArgs): k8s.types.input.core.v1.EnvVar[] {
  const w = args.workers;
  const fromSecret = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: args.awsSecretName, key: name } } });
  return [
    { name: 'TASKQUEUE_PATH', value: args.queueUrl },
    { name: 'TQ_LEASE_SECONDS', value: String(w.leaseSeconds) },
    { name: 'CF_CLOUDPATH', value: args.cloudpath },
    { name: 'TQ_MAX_ATTEMPTS', value: String(w.maxAttempts) },
    { name: 'WORKER_CONCURRENCY', value: String(w.concurrency) },
    { name: 'WORKER_GRACE_SECONDS', value: String(w.graceSeconds) },
    { name: 'AWS_REGION', value: args.awsRegion },
    fromSecret('AWS_ACCESS_KEY_ID'),
    fromSecret('AWS_SECRET_ACCESS_KEY'),
  ];
}

export function workerResources(workers: Workers): k8s.types.input.core.v1.ResourceRequirements {
  const gpu: Record<string, string> = workers.gpus > 0 ? { [GPU_RESOURCE]: String(workers.gpus) } : {};
  // No CPU limit: throttling a batch worker only slows it; the request already reserves its share.
  return {
    requests: { cpu: workers.cpu, memory: workers.memory, ...gpu },
    limits: { memory: workers.memoryLimit, ...gpu },
  };
}

/** Tolerations for the pool's own taints (and GKE's GPU taint on GPU pools). */
export function workerTolerations(pool: NodePool): k8s.types.input.core.v1.Toleration[] {
  const tolerations: k8s.types.input.core.v1.Toleration[] = pool.taints.map((t) => ({
    key: t.key,
    operator: 'Equal',
    value: t.value,
    effect: t.effect,
  }));
  if (pool.gpu) tolerations.push({ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' });
  return tolerations;
}

export function workerPodTemplate(args: WorkerPodArgs): WorkerPodTemplateSpec {
  return {
    metadata: { labels: workerLabels() },
    spec: {
      serviceAccountName: args.serviceAccountName,
      // Workload Identity needs no token in the pod; the workers never call the Kubernetes API.
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: args.workers.graceSeconds + TERMINATION_MARGIN_SECONDS,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: WORKER_UID,
        runAsGroup: WORKER_UID,
        fsGroup: WORKER_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      nodeSelector: { 'cloud.google.com/gke-nodepool': args.pool.name },
      tolerations: workerTolerations(args.pool),
      containers: [
        {
          name: K8S_NAMES.container,
          image: args.image,
          imagePullPolicy: 'IfNotPresent',
          env: workerEnv(args),
          resources: workerResources(args.workers),
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            runAsUser: WORKER_UID,
            capabilities: { drop: ['ALL'] },
          },
          // The root filesystem is read-only: scratch space for tasks and libraries lives here.
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  };
}
