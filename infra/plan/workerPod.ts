/**
 * The worker pod template: one place for the container, its environment, resources, security
 * context and placement, shared by every workload that runs workers (the Deployment here; a Job or
 * a KEDA-scaled Deployment reuse it). Pure: plain objects in, a Kubernetes PodTemplateSpec out.
 */
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { settingsToEnv } from '../../lib/settings/toEnv';
import {
  DEFAULT_TMP_SIZE,
  LIVENESS_FAILURE_THRESHOLD,
  LIVENESS_PERIOD_SECONDS,
  LIVENESS_TIMEOUT_SECONDS,
  POD_UID,
  STARTUP_SECONDS,
  TERMINATION_MARGIN_SECONDS,
} from './defaults';
import { WORKER_LABELS } from '../../lib/workerPods';
import { K8S_NAMES } from './names';
import type { NodePool, Workers } from './types';

export { TERMINATION_MARGIN_SECONDS, POD_UID } from './defaults';

export const GPU_RESOURCE = 'nvidia.com/gpu';

/** A container with a plain `env` list, so a workload (the drain Job) can add to it. */
export type WorkerContainer = Omit<k8s.types.input.core.v1.Container, 'env'> & {
  env?: k8s.types.input.core.v1.EnvVar[];
};

/** The pod spec as plain data down to the containers (leaf values may be Outputs). */
export type WorkerPodSpec = Omit<k8s.types.input.core.v1.PodSpec, 'containers'> & { containers: WorkerContainer[] };

/** The worker pod template; it is a `PodTemplateSpec`, typed precisely so other workloads can adapt it. */
export interface WorkerPodTemplateSpec {
  metadata: { labels: Record<string, string>; annotations?: Record<string, pulumi.Input<string>> };
  spec: WorkerPodSpec;
}

export interface WorkerPodArgs {
  /** Image reference, by digest. */
  readonly image: pulumi.Input<string>;
  readonly workers: Workers;
  /** The pool the workers run on: its name selects the nodes, its taints are tolerated. */
  readonly pool: NodePool;
  /** The queue setting (lib/settings: queueUrl). */
  readonly queueUrl: string;
  /** The output location setting (lib/settings: cloudpath). */
  readonly cloudpath: string;
  /**
   * AWS region and the Kubernetes Secret holding AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, where
   * the workers use AWS (SQS, S3); absent for Pub/Sub and gs://, so no AWS variable reaches the pod.
   */
  readonly aws?: {
    readonly region: string;
    readonly secretName: pulumi.Input<string>;
    /** AWS_ENDPOINT_URL, when the queue and outputs are not AWS's own endpoints. */
    readonly endpoint?: string;
  };
  readonly serviceAccountName: pulumi.Input<string>;
  /** Size limit of the pod's `/tmp` and its ephemeral-storage request. Default {@link DEFAULT_TMP_SIZE}. */
  readonly tmpSize?: string;
  /**
   * A liveness probe on the worker's `/healthz` at this port (it also sets the metrics-port
   * setting), after a startup probe that gives the worker {@link STARTUP_SECONDS} to open its
   * queue. The worker answers it during CPU-bound tasks (they run in worker threads). Unset: no probe.
   */
  readonly healthzLivenessPort?: number;
  /** Nodes the pods may run on; default: the pool's nodes (GKE's node pool label). */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Pod annotations (e.g. a checksum of the AWS Secret so a key rotation rolls the pods). */
  readonly annotations?: Record<string, pulumi.Input<string>>;
}

/** Labels on every worker pod; the workload's selector uses them. */
export function workerLabels(): Record<string, string> {
  return { ...WORKER_LABELS };
}

/** The task settings the worker reads, named by lib/settings' table, plus AWS credentials from the Secret. */
export function workerEnv(args: WorkerPodArgs): k8s.types.input.core.v1.EnvVar[] {
  const w = args.workers;
  const settings = settingsToEnv({
    queueUrl: args.queueUrl,
    leaseSeconds: w.leaseSeconds,
    cloudpath: args.cloudpath,
    maxAttempts: w.maxAttempts,
    concurrency: w.concurrency,
    graceSeconds: w.graceSeconds,
    metricsPort: args.healthzLivenessPort,
  });
  const plain = settings.map(({ name, value }) => ({ name, value }));
  const aws = args.aws;
  if (!aws) return plain;
  const fromSecret = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: aws.secretName, key: name } } });
  return [
    ...plain,
    { name: 'AWS_REGION', value: aws.region },
    ...(aws.endpoint ? [{ name: 'AWS_ENDPOINT_URL', value: aws.endpoint }] : []),
    fromSecret('AWS_ACCESS_KEY_ID'),
    fromSecret('AWS_SECRET_ACCESS_KEY'),
  ];
}

export function workerResources(
  workers: Workers,
  tmpSize: string = DEFAULT_TMP_SIZE,
): k8s.types.input.core.v1.ResourceRequirements {
  const gpu: Record<string, string> = workers.gpus > 0 ? { [GPU_RESOURCE]: String(workers.gpus) } : {};
  // No CPU limit: throttling a batch worker only slows it; the request already reserves its share.
  // The ephemeral-storage request makes the scheduler count /tmp against the node's disk.
  return {
    requests: { cpu: workers.cpu, memory: workers.memory, 'ephemeral-storage': tmpSize, ...gpu },
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
  const tmpSize = args.tmpSize ?? DEFAULT_TMP_SIZE;
  const port = args.healthzLivenessPort;
  const check = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: '/healthz', port: 'metrics' },
    periodSeconds,
    timeoutSeconds: LIVENESS_TIMEOUT_SECONDS,
    failureThreshold,
  });
  const probe = port
    ? {
        ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }],
        startupProbe: check(5, STARTUP_SECONDS / 5),
        livenessProbe: check(LIVENESS_PERIOD_SECONDS, LIVENESS_FAILURE_THRESHOLD),
      }
    : {};
  return {
    metadata: { labels: workerLabels(), ...(args.annotations ? { annotations: { ...args.annotations } } : {}) },
    spec: {
      serviceAccountName: args.serviceAccountName,
      // Workload Identity needs no token in the pod; the workers never call the Kubernetes API.
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: args.workers.graceSeconds + TERMINATION_MARGIN_SECONDS,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: POD_UID,
        runAsGroup: POD_UID,
        fsGroup: POD_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      nodeSelector: args.nodeSelector ? { ...args.nodeSelector } : { 'cloud.google.com/gke-nodepool': args.pool.name },
      tolerations: workerTolerations(args.pool),
      containers: [
        {
          name: K8S_NAMES.container,
          image: args.image,
          imagePullPolicy: 'IfNotPresent',
          env: workerEnv(args),
          resources: workerResources(args.workers, tmpSize),
          ...probe,
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            runAsUser: POD_UID,
            capabilities: { drop: ['ALL'] },
          },
          // The root filesystem is read-only: scratch space for tasks and libraries lives here.
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      // Bounded: a task filling /tmp gets its pod evicted instead of filling the node's boot disk.
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: tmpSize } }],
    },
  };
}
