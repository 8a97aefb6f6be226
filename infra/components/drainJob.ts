/**
 * Declares the drain Job from its plain manifest (plan/drainJob.ts).
 *
 * A changed run id renames the Job (a new run). A changed pod template (new image, new requests,
 * new settings) cannot be applied to a Job in place (Kubernetes keeps `spec.template` and
 * `spec.selector` immutable): the Job is replaced, the old one deleted first so two runs never
 * compete for nodes; its workers release their tasks and the new Job's workers carry on.
 *
 * Parallelism (scaling.maxWorkers) is mutable in Kubernetes, but Pulumi's Kubernetes provider
 * lists `spec.parallelism` (with `spec.completions`) among a Job's replace-on-change fields, so a
 * plain diff would kill a running batch to resize it. The Job therefore ignores changes to it: a
 * new maxWorkers applies from the next run, and the program prints the one kubectl command that
 * resizes the running Job in place. backoffLimit changes are patched in place.
 */
import * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { DrainJobArgs, drainJobManifest } from '../plan/drainJob';

/** Replaced on a pod template change. */
export const DRAIN_JOB_REPLACE_ON = ['spec.template'] as const;
/** Never diffed after creation: the provider would replace a running Job to change them. */
export const DRAIN_JOB_IGNORE = ['spec.parallelism'] as const;

export function createDrainJob(
  name: string,
  args: DrainJobArgs,
  opts: pulumi.CustomResourceOptions = {},
): k8s.batch.v1.Job {
  return new k8s.batch.v1.Job(name, drainJobManifest(args), {
    ...opts,
    deleteBeforeReplace: true,
    replaceOnChanges: [...DRAIN_JOB_REPLACE_ON, ...(opts.replaceOnChanges ?? [])],
    ignoreChanges: [...DRAIN_JOB_IGNORE, ...(opts.ignoreChanges ?? [])],
  });
}
