/**
 * A kubeconfig for the new cluster that authenticates with `gke-gcloud-auth-plugin` (the way
 * `gcloud container clusters get-credentials` writes it): no long-lived credentials inside. Pure.
 */

export interface KubeconfigArgs {
  readonly project: string;
  readonly location: string;
  readonly clusterName: string;
  /** The control plane's IP or host name, without scheme. */
  readonly endpoint: string;
  /** Base64 PEM, as GKE returns it in masterAuth.clusterCaCertificate. */
  readonly caCertificate: string;
}

export const AUTH_PLUGIN = 'gke-gcloud-auth-plugin';

/** Kubeconfig as JSON text (valid YAML; kubectl and the Kubernetes provider read it). */
export function kubeconfig(args: KubeconfigArgs): string {
  const name = `gke_${args.project}_${args.location}_${args.clusterName}`;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name, cluster: { server: `https://${args.endpoint}`, 'certificate-authority-data': args.caCertificate } },
    ],
    contexts: [{ name, context: { cluster: name, user: name } }],
    'current-context': name,
    users: [
      {
        name,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: AUTH_PLUGIN,
            // The same principal as the gcp provider (application default credentials), not
            // whichever account `gcloud auth login` last chose.
            args: ['--use_application_default_credentials'],
            provideClusterInfo: true,
            installHint:
              `Install ${AUTH_PLUGIN} (gcloud components install ${AUTH_PLUGIN}, or the ` +
              `google-cloud-cli-gke-gcloud-auth-plugin package) and run gcloud auth application-default login.`,
          },
        },
      },
    ],
  };
  return JSON.stringify(config, null, 2);
}
