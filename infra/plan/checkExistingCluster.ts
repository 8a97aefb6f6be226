/**
 * Checks of the `existingCluster` key against the rest of the config: with a cluster that exists
 * already the stack creates nothing in GCP, so whatever would need GCP is refused up front. Pure.
 */
import path from 'node:path';
import type { EndpointContext } from './checkEndpoints';
import { PROJECT } from './schema';
import type { ExistingClusterInput } from './schemaExistingCluster';
import type { ExistingCluster, ImageSettings } from './types';

export type { ExistingCluster } from './types';

/** Kubeconfig text rather than a path: YAML or JSON with the `clusters` a kubeconfig must have. */
function isKubeconfigText(value: string): boolean {
  return value.includes('\n') || value.trimStart().startsWith('{') || /\bclusters\s*:/.test(value);
}

export function checkExistingCluster(
  input: ExistingClusterInput,
  related: { readonly image?: ImageSettings; readonly outputBucket?: string; readonly pubsubQueue?: boolean },
  context: EndpointContext,
  problems: string[],
): ExistingCluster | undefined {
  const before = problems.length;
  let kubeconfig = input.kubeconfig;
  const inline = isKubeconfigText(kubeconfig);
  if (!inline) {
    kubeconfig = path.resolve(context.projectDir, kubeconfig);
    if (!context.fileExists(kubeconfig)) {
      problems.push(
        `existingCluster.kubeconfig ${input.kubeconfig}: no such file (${kubeconfig}); give the path of a ` +
          `kubeconfig, or its contents: pulumi config set --path --secret ${PROJECT}:existingCluster.kubeconfig ` +
          `"$(cat FILE)"`,
      );
    }
  }
  const image = related.image;
  if (image && image.existing === undefined && image.registry === 'artifact-registry') {
    problems.push(
      `image.registry artifact-registry: with existingCluster the stack creates nothing in GCP; set image.existing ` +
        `to an image built elsewhere, or image.registry to a repository to push to (pulumi config set --path ` +
        `${PROJECT}:image.existing REGISTRY/NAME@sha256:DIGEST)`,
    );
  }
  if (related.outputBucket) {
    problems.push(
      `cloudpath gs://${related.outputBucket}: with existingCluster the stack binds no Google service account ` +
        `(Workload Identity) to the workers, so they could not write to Cloud Storage; use an s3:// cloudpath, ` +
        `or let the stack create the GKE cluster`,
    );
  }
  if (related.pubsubQueue) {
    problems.push(
      `queueUrl pubsub://...: with existingCluster the stack binds no Google service account (Workload ` +
        `Identity) to the workers, so they could not use Pub/Sub; use an SQS queue, or let the stack create the ` +
        `GKE cluster`,
    );
  }
  for (const [key, value] of Object.entries(input.nodeSelector)) {
    if (!/^([a-z0-9.-]+\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/.test(key)) {
      problems.push(
        `existingCluster.nodeSelector ${key}: is not a Kubernetes label key; write e.g. pool or example.com/pool`,
      );
    }
    if (!/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/.test(value)) {
      problems.push(
        `existingCluster.nodeSelector.${key} ${JSON.stringify(value)}: is not a label value (at most 63 letters, ` +
          `digits, - _ . starting and ending with a letter or digit)`,
      );
    }
  }
  if (problems.length > before) return undefined;
  return { kubeconfig, inline, context: input.context, nodeSelector: input.nodeSelector };
}
