/**
 * The workers' metrics in GKE's Managed Service for Prometheus: a `PodMonitoring` (the managed
 * collectors' own custom resource) that scrapes each worker pod's `/metrics` (worker/metrics.ts) on
 * the port the stack gives the workers' metrics-port setting. Pure: a plain manifest.
 */
import type * as pulumi from '@pulumi/pulumi';
import { APP_NAME_LABEL } from '../../lib/workerPods';
import { K8S_NAMES } from './names';

export const POD_MONITORING_API_VERSION = 'monitoring.googleapis.com/v1';

/** Managed Prometheus's own default; `rate(...[5m])` then has five samples a pod. */
export const SCRAPE_INTERVAL = '60s';

/**
 * The series kept: the worker's own (worker_*) and its process's CPU and memory. Samples are billed,
 * and prom-client's Node.js defaults add some thirty series a pod that a batch run rarely needs.
 */
export const KEPT_METRICS = 'worker_.*|process_cpu_seconds_total|process_resident_memory_bytes';

export interface WorkerPodMonitoringArgs {
  readonly namespace: pulumi.Input<string>;
  /** The workers' metrics port (the metrics-port setting the pods get). */
  readonly port: number;
}

export function workerPodMonitoringManifest(args: WorkerPodMonitoringArgs) {
  return {
    apiVersion: POD_MONITORING_API_VERSION,
    kind: 'PodMonitoring',
    metadata: {
      name: K8S_NAMES.podMonitoring,
      namespace: args.namespace,
      labels: { 'app.kubernetes.io/part-of': 'gke-batch' },
    },
    spec: {
      // Every worker pod, whichever workload runs it (the drain Job or the KEDA-scaled Deployment).
      selector: { matchLabels: { 'app.kubernetes.io/name': APP_NAME_LABEL } },
      endpoints: [
        {
          port: args.port,
          path: '/metrics',
          interval: SCRAPE_INTERVAL,
          metricRelabeling: [{ action: 'keep', sourceLabels: ['__name__'], regex: KEPT_METRICS }],
        },
      ],
    },
  };
}
