/**
 * Declares the drain Job from its plain manifest (plan/drainJob.ts).
 *
 * A changed run id renames the Job (a new run). A changed pod template (new image, new requests,
 * new settings) cannot be applied to a Job in place, and Pulumi's Kubernetes provider also
 * replaces a Job whose parallelism changed (scaling.maxWorkers): both replace the Job, the old one
 * deleted first so two runs never compete for nodes; its workers release their tasks and the new
 * Job's workers carry on. The program says so on every drain-mode preview. backoffLimit changes
 * are patched in place.
 */
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { DrainJobArgs, drainJobManifest } from '../plan/drainJob';

/** Replaced on a pod template change (also on parallelism: the provider's own rule for Jobs). */
export const DRAIN_JOB_REPLACE_ON = ['spec.template'] as const;

export function createDrainJob(
  name: string,
  args: DrainJobArgs,
  opts: pulumi.CustomResourceOptions = {},
): k8s.batch.v1.Job {
  return new k8s.batch.v1.Job(name, drainJobManifest(args), {
    ...opts,
    deleteBeforeReplace: true,
    replaceOnChanges: [...DRAIN_JOB_REPLACE_ON, ...(opts.replaceOnChanges ?? [])],
  });
}
