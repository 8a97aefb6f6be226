/**
 * The Kubernetes provider for a cluster that exists already (the `existingCluster` key): the
 * workers are deployed there and nothing is created in GCP.
 */
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import type { ExistingCluster } from '../plan/checkExistingCluster';

export function existingClusterProvider(name: string, cluster: ExistingCluster): k8s.Provider {
  return new k8s.Provider(name, {
    // A path is read by the provider; kubeconfig text usually holds credentials, so it stays secret.
    kubeconfig: cluster.inline ? pulumi.secret(cluster.kubeconfig) : cluster.kubeconfig,
    context: cluster.context,
  });
}
