/**
 * Declares the drain Job from its plain manifest (plan/drainJob.ts).
 *
 * A changed run id renames the Job (a new run). A changed pod template (new image, new requests,
 * new settings) cannot be applied to a Job in place: it replaces the Job, the old one deleted
 * first so two runs never compete for nodes; its workers release their tasks and the new Job's
 * workers carry on. A changed parallelism (scaling.maxWorkers) or backoffLimit is mutable and is
 * patched into the running Job.
 */
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { DrainJobArgs, drainJobManifest } from '../plan/drainJob';

/** The only paths whose change replaces the Job; everything else is an in-place update. */
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
