/**
 * Drain mode: the workers run as a Kubernetes Job in the work-queue pattern.
 *
 * `parallelism` workers start; there is no `completions`: each worker leases tasks until the queue
 * is empty (lib/settings' exitWhenEmpty set to 1) and exits 0. Once one pod has succeeded the Job starts no new
 * pods and completes when the others have finished too; the node pool autoscaler then removes the
 * idle nodes, down to the pool's minimum (0 allowed).
 *
 * Pods use `restartPolicy: Never` so that a `podFailurePolicy` can tell a node going away (spot
 * preemption, node drain, eviction: the pod carries the `DisruptionTarget` condition) from a worker
 * that crashed. Disruptions are ignored, i.e. the pod is replaced without using up `backoffLimit`;
 * crashes count, and `backoffLimit` of them fail the Job (a broken image stops there instead of
 * looping); the worker's "bad configuration" exit code fails the Job at once. `OnFailure` would
 * restart the container in place, but Kubernetes allows a pod failure policy only with `Never`, so
 * every spot preemption would eat into the limit. `Never` also keeps a crashed pod (and its logs)
 * around until the Job is cleaned up.
 *
 * A new batch needs a new Job: the Job's name ends in the run id (`<name>-run-<runId>`), so changing
 * the run id in the stack config (`pulumi config set --path gke-batch:scaling.run 2`) makes
 * `pulumi up` replace the finished Job with a fresh one. See docs/scaling.md.
 */
import type * as k8s from '@pulumi/kubernetes';
import type * as pulumi from '@pulumi/pulumi';
import { EXIT_BAD_CONFIG, EXIT_STOPPED_BEFORE_DRAINED } from '../../lib/exitCodes';
import { SETTINGS } from '../../lib/settings/table';
import { RUN_LABEL } from '../../lib/workerPods';
import { MIN_BACKOFF_LIMIT, TERMINATION_MARGIN_SECONDS } from './defaults';
import type { WorkerContainer, WorkerPodSpec } from './workerPod';

/** The variable that makes the worker exit 0 once the queue is empty (same as `--exit-when-empty`). */
export const EXIT_WHEN_EMPTY_ENV = SETTINGS.exitWhenEmpty.env;

/** Pod label carrying the run id (lib/workerPods.ts). */
export { RUN_LABEL } from '../../lib/workerPods';

/** A Job's name becomes a label value on its pods: at most 63 characters, DNS-1123 label syntax. */
const MAX_JOB_NAME_LENGTH = 63;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The worker pod as the Deployment would run it. */
export interface WorkerPodTemplate {
  /** Labels on every worker pod. */
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations on every worker pod. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Pod spec: service account, security context, node selector, tolerations, volumes, ... (`restartPolicy` and
   * `terminationGracePeriodSeconds` are the Job's to set). */
  readonly spec: WorkerPodSpec;
  /** Name of the container that runs the worker (it gets the exit-when-empty setting). */
  readonly workerContainer: string;
}

export interface DrainJobArgs {
  /** Namespace the Job runs in. */
  readonly namespace: pulumi.Input<string>;
  /** Job name prefix; the Job is called `<baseName>-run-<runId>`. */
  readonly baseName: string;
  /** Identifies the batch run; change it to start a new run. Lowercase letters, digits and '-'. */
  readonly runId: string;
  /** Workers running at once (pods). */
  readonly parallelism: number;
  /** Worker crashes (not node disruptions) tolerated before the Job fails. Default {@link MIN_BACKOFF_LIMIT}; the stack
   * passes defaultBackoffLimit(parallelism, maxAttempts). */
  readonly backoffLimit?: number;
  /** The worker's grace setting (seconds); pods get this plus {@link TERMINATION_MARGIN_SECONDS} to stop. */
  readonly graceSeconds: number;
  /**
   * Seconds a finished Job is kept before Kubernetes deletes it. Default: kept (no TTL), because a
   * Job the cluster deleted by itself is recreated by the next `pulumi refresh` + `pulumi up`, which
   * would start a run nobody asked for. The next run id replaces it.
   */
  readonly ttlSecondsAfterFinished?: number;
  /** The worker pod. */
  readonly pod: WorkerPodTemplate;
}

/** `<baseName>-run-<runId>`. */
export function drainJobName(baseName: string, runId: string): string {
  return `${baseName}-run-${runId}`;
}

/** Why `runId` cannot name a Job after `baseName`, or undefined when it can. */
export function runIdProblem(baseName: string, runId: string): string | undefined {
  if (!DNS_LABEL.test(runId)) {
    return (
      `run id ${JSON.stringify(runId)} must be lowercase letters, digits and '-', starting and ending with a ` +
      `letter or digit (e.g. 2 or 2026-05-01)`
    );
  }
  const name = drainJobName(baseName, runId);
  if (name.length > MAX_JOB_NAME_LENGTH) {
    return (
      `run id ${JSON.stringify(runId)} makes the Job name ${name} ${name.length} characters long; Kubernetes ` +
      `allows ${MAX_JOB_NAME_LENGTH}: use at most ${runId.length - (name.length - MAX_JOB_NAME_LENGTH)} characters`
    );
  }
  return undefined;
}

/** Seconds between SIGTERM and SIGKILL for a worker whose own grace is `graceSeconds`. */
export function terminationGraceSeconds(graceSeconds: number): number {
  return graceSeconds + TERMINATION_MARGIN_SECONDS;
}

function asContainer({ env, ...rest }: WorkerContainer): k8s.types.input.core.v1.Container {
  return env ? { ...rest, env: [...env] } : rest;
}

function withExitWhenEmpty(container: WorkerContainer): k8s.types.input.core.v1.Container {
  const env = (container.env ?? []).filter((variable) => variable.name !== EXIT_WHEN_EMPTY_ENV);
  return { ...container, env: [...env, { name: EXIT_WHEN_EMPTY_ENV, value: '1' }] };
}

/** The Job's manifest (pure: plain values in, plain values out), checked for the mistakes Kubernetes would reject late.
 * */
export function drainJobManifest(args: DrainJobArgs): k8s.types.input.batch.v1.Job {
  const problems: string[] = [];
  const runProblem = runIdProblem(args.baseName, args.runId);
  if (runProblem) problems.push(runProblem);
  if (!Number.isInteger(args.parallelism) || args.parallelism < 1)
    problems.push(`parallelism must be a whole number ≥ 1, got ${args.parallelism}`);
  const backoffLimit = args.backoffLimit ?? MIN_BACKOFF_LIMIT;
  if (!Number.isInteger(backoffLimit) || backoffLimit < 0)
    problems.push(`backoffLimit must be a whole number ≥ 0, got ${backoffLimit}`);
  if (!args.pod.spec.containers.some((container) => container.name === args.pod.workerContainer)) {
    problems.push(`the pod has no container named ${args.pod.workerContainer}`);
  }
  if (problems.length > 0) throw new Error(`drain Job: ${problems.join('; ')}`);

  return {
    metadata: {
      name: drainJobName(args.baseName, args.runId),
      namespace: args.namespace,
      labels: { ...args.pod.labels, [RUN_LABEL]: args.runId },
      annotations: {
        // Pulumi would otherwise wait for the whole batch to finish (and time out).
        'pulumi.com/skipAwait': 'true',
        // skipAwait also skips waiting for a delete; a foreground delete would leave the Job in
        // place until its pods are gone, and a replacement under the same name would clash with
        // it. Background: the Job goes at once, its pods are stopped (and release their tasks) after.
        'pulumi.com/deletionPropagationPolicy': 'background',
      },
    },
    spec: {
      parallelism: args.parallelism,
      backoffLimit,
      ...(args.ttlSecondsAfterFinished !== undefined ? { ttlSecondsAfterFinished: args.ttlSecondsAfterFinished } : {}),
      podReplacementPolicy: 'Failed',
      podFailurePolicy: {
        rules: [
          // The node went away (spot preemption, drain, eviction): replace the pod, count nothing.
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          // A worker stopped by SIGTERM while tasks remain (evicted, scaled away, deleted by hand)
          // says so with its own exit code: replace it, count nothing. Exit 0 would end the run.
          {
            action: 'Ignore',
            onExitCodes: {
              containerName: args.pod.workerContainer,
              operator: 'In',
              values: [EXIT_STOPPED_BEFORE_DRAINED],
            },
          },
          // Bad settings fail every pod alike: stop at the first instead of backing off many times.
          {
            action: 'FailJob',
            onExitCodes: { containerName: args.pod.workerContainer, operator: 'In', values: [EXIT_BAD_CONFIG] },
          },
        ],
      },
      template: {
        metadata: {
          labels: { ...args.pod.labels, [RUN_LABEL]: args.runId },
          annotations: {
            ...args.pod.annotations,
            // A worker stopped by the cluster autoscaler exits 0, which a work-queue Job reads as
            // "queue drained" and then replaces no more pods; let the autoscaler remove only idle nodes.
            'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
          },
        },
        spec: {
          ...args.pod.spec,
          containers: args.pod.spec.containers.map((container) =>
            container.name === args.pod.workerContainer ? withExitWhenEmpty(container) : asContainer(container),
          ),
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: terminationGraceSeconds(args.graceSeconds),
        },
      },
    },
  };
}
