/** A drain Job's arguments built from plain values, shared by the manifest and component tests. */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { DrainJobArgs, drainJobManifest, EXIT_WHEN_EMPTY_ENV } from '../../infra/plan/drainJob';

export const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/primes';

export function podTemplate(): DrainJobArgs['pod'] {
  return {
    labels: { 'app.kubernetes.io/name': 'gke-batch-worker' },
    annotations: { 'example.com/owner': 'batch' },
    workerContainer: 'worker',
    spec: {
      serviceAccountName: 'worker',
      nodeSelector: { 'gke-batch/pool': 'workers' },
      tolerations: [{ key: 'gke-batch/workers', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
      containers: [
        {
          name: 'worker',
          image: 'us-docker.pkg.dev/p/r/worker@sha256:' + 'a'.repeat(64),
          env: [
            { name: 'TASKQUEUE_PATH', value: QUEUE_URL },
            { name: EXIT_WHEN_EMPTY_ENV, value: '0' },
            { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'aws', key: 'AWS_ACCESS_KEY_ID' } } },
          ],
          resources: { requests: { cpu: '1', memory: '3Gi' }, limits: { memory: '3Gi' } },
        },
        { name: 'sidecar', image: 'busybox@sha256:' + 'b'.repeat(64) },
      ],
    },
  };
}

export function drainArgs(overrides: Partial<DrainJobArgs> = {}): DrainJobArgs {
  return {
    namespace: 'batch',
    baseName: 'workers',
    runId: '7',
    parallelism: 12,
    backoffLimit: 4,
    graceSeconds: 20,
    pod: podTemplate(),
    ...overrides,
  };
}

/**
 * The manifest as plain JSON. Built from plain arguments (no Outputs), it is one; the cast only
 * trades Pulumi's Input<> types for the Kubernetes schema's types.
 */
export function plainJob(args: DrainJobArgs): Omit<IJob, 'apiVersion' | 'kind'> {
  return drainJobManifest(args) as unknown as Omit<IJob, 'apiVersion' | 'kind'>;
}
