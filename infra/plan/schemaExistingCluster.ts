/**
 * The `existingCluster` config key: deploy only the workers, into a Kubernetes cluster that exists
 * already (GKE or any other), instead of creating a GKE cluster and its node pools. Pure.
 */
import { z } from 'zod';

export const existingClusterSchema = z.strictObject({
  kubeconfig: z
    .string()
    .min(1, 'is empty')
    .describe(
      'A kubeconfig for the cluster: a file path (relative to the project directory) or the file itself. Set with ' +
        '--secret when it holds credentials.',
    ),
  context: z
    .string()
    .min(1, 'is empty')
    .optional()
    .describe("The kubeconfig's context to use. Default: its current one."),
  nodeSelector: z
    .record(z.string(), z.string(), { error: 'must be an object of node label keys and values' })
    .default({})
    .describe(
      'Node labels the workers must run on. Default none (any node). The nodePools key then only describes the ' +
        "cluster's worker nodes, for sizing; no node pool is created.",
    ),
});

export type ExistingClusterInput = z.output<typeof existingClusterSchema>;
