/**
 * Continuous mode on Pub/Sub: KEDA's own Google identity and the scaler on the subscription.
 * `KedaGcpIdentity` is a Google service account with roles/monitoring.viewer on the queue's
 * project (KEDA reads the backlog from Cloud Monitoring, which has no narrower grant), bound
 * through Workload Identity to KEDA's operator (`keda/keda-operator`); the Helm release annotates
 * that Kubernetes service account with it. `PubsubQueueScaler` declares the TriggerAuthentication
 * (pod identity, no Secret) and the ScaledObject (plan/kedaPubsub.ts) after KEDA's release.
 */
import * as gcp from '@pulumi/gcp';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { KEDA_NAMESPACE } from '../plan/defaults';
import {
  gcpPodIdentityTriggerAuthentication,
  KEDA_OPERATOR_SERVICE_ACCOUNT,
  PubsubScalerSettings,
  pubsubScaledObjectManifest,
} from '../plan/kedaPubsub';
import { serviceAccountId } from '../plan/names';
import { MONITORING_VIEWER_ROLE } from '../plan/pubsub';
import type { Keda } from './keda';

export interface KedaGcpIdentityArgs {
  /** Project the service account lives in (the stack's). */
  readonly project: string;
  /** Project whose Cloud Monitoring KEDA reads: the queue's. */
  readonly monitoredProject: string;
  readonly clusterName: string;
  /** "PROJECT.svc.id.goog", an output so the binding waits for the cluster. */
  readonly workloadPool: pulumi.Input<string>;
  /** Namespace KEDA is installed into. Default {@link KEDA_NAMESPACE}. */
  readonly kedaNamespace?: string;
}

export class KedaGcpIdentity extends pulumi.ComponentResource {
  public readonly account: gcp.serviceaccount.Account;
  public readonly email: pulumi.Output<string>;
  /** The monitoring grant and the Workload Identity binding: KEDA's release waits for them. */
  public readonly grants: pulumi.Resource[];

  constructor(name: string, args: KedaGcpIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('gke-batch:scaling:KedaGcpIdentity', name, {}, opts);
    this.account = new gcp.serviceaccount.Account(
      `${name}-gsa`,
      {
        project: args.project,
        accountId: serviceAccountId(args.clusterName, 'keda'),
        displayName: `KEDA of ${args.clusterName} (reads Pub/Sub backlogs in Cloud Monitoring)`,
      },
      { parent: this, deleteBeforeReplace: true },
    );
    this.email = this.account.email;
    const kedaServiceAccount = `${args.kedaNamespace ?? KEDA_NAMESPACE}/${KEDA_OPERATOR_SERVICE_ACCOUNT}`;
    this.grants = [
      new gcp.projects.IAMMember(
        `${name}-monitoring-viewer`,
        {
          project: args.monitoredProject,
          role: MONITORING_VIEWER_ROLE,
          member: pulumi.interpolate`serviceAccount:${this.account.email}`,
        },
        { parent: this },
      ),
      new gcp.serviceaccount.IAMMember(
        `${name}-workload-identity`,
        {
          serviceAccountId: this.account.name,
          role: 'roles/iam.workloadIdentityUser',
          member: pulumi.interpolate`serviceAccount:${args.workloadPool}[${kedaServiceAccount}]`,
        },
        { parent: this },
      ),
    ];
    this.registerOutputs({ email: this.email });
  }
}

export interface PubsubQueueScalerArgs extends PubsubScalerSettings {
  /** KEDA, installed by this stack (the scaler waits for its release: it installs the CRDs); undefined: already
   * in the cluster. */
  readonly keda?: Keda;
  readonly namespace: pulumi.Input<string>;
  readonly deploymentName: pulumi.Input<string>;
}

/** The ScaledObject and TriggerAuthentication that size the worker Deployment by the subscription's backlog. */
export class PubsubQueueScaler extends pulumi.ComponentResource {
  public readonly triggerAuthentication: k8s.apiextensions.CustomResource;
  public readonly scaledObject: k8s.apiextensions.CustomResource;
  /** Name of the HorizontalPodAutoscaler KEDA creates (`kubectl get hpa`). */
  public readonly hpaName: pulumi.Output<string>;

  constructor(name: string, args: PubsubQueueScalerArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super('gke-batch:scaling:PubsubQueueScaler', name, {}, opts);
    const dependsOn = args.keda ? [args.keda.release] : [];
    this.triggerAuthentication = new k8s.apiextensions.CustomResource(
      `${name}-auth`,
      gcpPodIdentityTriggerAuthentication(pulumi.interpolate`${args.deploymentName}-pubsub`, args.namespace),
      { parent: this, dependsOn },
    );
    this.scaledObject = new k8s.apiextensions.CustomResource(
      `${name}-scaledobject`,
      pubsubScaledObjectManifest(args.deploymentName, args.namespace, this.triggerAuthentication.metadata.name, args),
      { parent: this, dependsOn },
    );
    this.hpaName = pulumi.interpolate`keda-hpa-${this.scaledObject.metadata.name}`;
    this.registerOutputs({ hpaName: this.hpaName });
  }
}
