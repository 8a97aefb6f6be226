/**
 * WorkerMetrics: the workers' PodMonitoring (plan/podMonitoring.ts), declared through the
 * cluster's Kubernetes provider like every other in-cluster object. GKE's managed collectors then
 * scrape each worker pod's /metrics into Cloud Monitoring, where PromQL reads them
 * (docs/operations.md, "Worker metrics in Cloud Monitoring").
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { WorkerPodMonitoringArgs, workerPodMonitoringManifest } from '../plan/podMonitoring';

export interface WorkerMetricsArgs extends WorkerPodMonitoringArgs {
  /** Kubernetes provider of the cluster. */
  readonly provider: k8s.Provider;
}

export class WorkerMetrics extends pulumi.ComponentResource {
  public readonly podMonitoring: k8s.apiextensions.CustomResource;

  constructor(name: string, args: WorkerMetricsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('gke-batch:infra:WorkerMetrics', name, {}, opts);
    this.podMonitoring = new k8s.apiextensions.CustomResource(
      `${name}-pod-monitoring`,
      workerPodMonitoringManifest(args),
      { parent: this, provider: args.provider },
    );
    this.registerOutputs({ podMonitoring: this.podMonitoring.metadata.name });
  }
}
