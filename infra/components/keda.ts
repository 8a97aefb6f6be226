/**
 * Continuous mode's components: `Keda` installs KEDA from its Helm chart at a pinned version;
 * `SqsQueueScaler` declares the ScaledObject and TriggerAuthentication (manifests in
 * plan/keda.ts) after KEDA's release, which installs their CRDs. Workers that are scaled away get
 * SIGTERM and release their tasks.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { KEDA_CHART_REPO, KEDA_CHART_VERSION, KEDA_NAMESPACE } from '../plan/defaults';
import {
  AwsCredentialsSecret,
  checkScalerArgs,
  ScalerSettings,
  scaledObjectManifest,
  triggerAuthenticationManifest,
} from '../plan/keda';

export interface KedaArgs {
  /** Chart version to install; pinned so a redeploy never upgrades KEDA by surprise. Default {@link
   * KEDA_CHART_VERSION}. */
  readonly chartVersion?: pulumi.Input<string>;
  /** Helm repository holding the `keda` chart. Default {@link KEDA_CHART_REPO}. */
  readonly chartRepo?: pulumi.Input<string>;
  /** Namespace to install into (created). Default {@link KEDA_NAMESPACE}. */
  readonly namespace?: string;
  /** Node selector for KEDA's own pods: an always-on pool, not the workers' pool that scales to zero. */
  readonly nodeSelector?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /**
   * A Google service account for KEDA's operator (Workload Identity): the chart annotates the
   * operator's Kubernetes service account with it, for triggers with `podIdentity.provider: gcp`.
   */
  readonly gcpServiceAccount?: pulumi.Input<string>;
  /** Resources the release waits for (the grants behind gcpServiceAccount). */
  readonly after?: pulumi.Resource[];
  /** Tolerations for KEDA's own pods. */
  readonly tolerations?: pulumi.Input<pulumi.Input<k8s.types.input.core.v1.Toleration>[]>;
}

/** KEDA, installed from its Helm chart. */
export class Keda extends pulumi.ComponentResource {
  /** The Helm release; everything that uses KEDA's custom resources depends on it (it installs their CRDs). */
  public readonly release: k8s.helm.v3.Release;
  /** Namespace KEDA runs in. */
  public readonly namespace: pulumi.Output<string>;
  /** Installed chart version. */
  public readonly chartVersion: pulumi.Output<string>;

  constructor(name: string, args: KedaArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    super('gke-batch:scaling:Keda', name, {}, opts);
    const namespace = args.namespace ?? KEDA_NAMESPACE;
    this.release = new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: 'keda',
        chart: 'keda',
        version: args.chartVersion ?? KEDA_CHART_VERSION,
        repositoryOpts: { repo: args.chartRepo ?? KEDA_CHART_REPO },
        namespace,
        createNamespace: true,
        // KEDA's pods must be scheduled before the release counts as ready; nodes may be scaling up.
        timeout: 600,
        values: {
          nodeSelector: args.nodeSelector ?? {},
          tolerations: args.tolerations ?? [],
          ...(args.gcpServiceAccount
            ? { podIdentity: { gcp: { enabled: true, gcpIAMServiceAccount: args.gcpServiceAccount } } }
            : {}),
        },
      },
      { parent: this, dependsOn: args.after ?? [] },
    );
    this.namespace = this.release.namespace;
    this.chartVersion = this.release.version;
    this.registerOutputs({ namespace: this.namespace, chartVersion: this.chartVersion });
  }
}

export interface SqsQueueScalerArgs extends ScalerSettings {
  /** KEDA, installed by this stack (the scaler waits for its release); undefined: already in the cluster. */
  readonly keda?: Keda;
  /** Namespace of the Deployment and the Secret. */
  readonly namespace: pulumi.Input<string>;
  /** Name of the worker Deployment to scale. */
  readonly deploymentName: pulumi.Input<string>;
  /** The workers' AWS credentials, reused by KEDA to read the queue's size. */
  readonly credentials: AwsCredentialsSecret;
}

/** The ScaledObject and TriggerAuthentication that let KEDA size the worker Deployment by the queue. */
export class SqsQueueScaler extends pulumi.ComponentResource {
  public readonly triggerAuthentication: k8s.apiextensions.CustomResource;
  public readonly scaledObject: k8s.apiextensions.CustomResource;
  /** Name of the HorizontalPodAutoscaler KEDA creates (`kubectl get hpa`). */
  public readonly hpaName: pulumi.Output<string>;

  constructor(name: string, args: SqsQueueScalerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('gke-batch:scaling:SqsQueueScaler', name, {}, opts);
    checkScalerArgs(args);
    const dependsOn = args.keda ? [args.keda.release] : [];
    this.triggerAuthentication = new k8s.apiextensions.CustomResource(
      `${name}-auth`,
      triggerAuthenticationManifest(pulumi.interpolate`${args.deploymentName}-sqs`, args.namespace, args.credentials),
      { parent: this, dependsOn },
    );
    this.scaledObject = new k8s.apiextensions.CustomResource(
      `${name}-scaledobject`,
      scaledObjectManifest(args.deploymentName, args.namespace, this.triggerAuthentication.metadata.name, args),
      { parent: this, dependsOn },
    );
    this.hpaName = pulumi.interpolate`keda-hpa-${this.scaledObject.metadata.name}`;
    this.registerOutputs({ hpaName: this.hpaName });
  }
}

/**
 * Options for the worker Deployment once KEDA owns its replica count: Pulumi creates it with
 * `replicas: 0` and then leaves `spec.replicas` alone, so a `pulumi up` never fights the autoscaler.
 */
export function kedaOwnedDeploymentOptions(opts: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { ...opts, ignoreChanges: [...(opts.ignoreChanges ?? []), 'spec.replicas'] };
}
