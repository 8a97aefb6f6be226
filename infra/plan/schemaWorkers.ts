/** The `workers` and `sizing` config keys: the worker pods and what each node keeps for itself. Pure. */
import { z } from 'zod';
import { MAX_LEASE_SECONDS, SETTINGS } from '../../lib/settings/table';
import { DEFAULT_WORKER_NAMESPACE } from '../../lib/workerPods';
import { gkeName, numeric, quantity, wholeNumber } from './schemaFields';

export const workersSchema = z.strictObject({
  nodePool: z.string().default('workers').describe('Name of the node pool the workers run on. Default "workers".'),
  namespace: gkeName(63)
    .default(DEFAULT_WORKER_NAMESPACE)
    .describe(
      'Kubernetes namespace for the workers (not default, kube-*, gke-* or keda). ' +
        `Default "${DEFAULT_WORKER_NAMESPACE}".`,
    ),
  cpu: quantity('cpu')
    .default('1')
    .describe('CPU request per worker pod (Kubernetes quantity: "1", "500m"). Default 1.'),
  memory: quantity('memory').default('3Gi').describe('Memory request per worker pod ("3Gi", "3000Mi"). Default 3Gi.'),
  memoryLimit: quantity('memory')
    .optional()
    .describe('Memory limit per worker pod; above it the pod is OOM-killed. Default: equal to workers.memory.'),
  gpus: wholeNumber(0, 16, 'GPUs')
    .optional()
    .describe('GPUs per worker pod (nvidia.com/gpu). Default 1 on a GPU pool, else 0.'),
  replicas: z
    .preprocess(
      numeric,
      z.union([z.literal('auto'), z.number().int().min(0, 'must be "auto" or a whole number of pods, 0 or more')], {
        error: 'must be "auto" or a whole number of pods',
      }),
    )
    .default('auto')
    .describe('Worker pods: a number, or "auto" for workers per node × the pool\'s maxNodes. Default auto.'),
  concurrency: wholeNumber(1, 1000, 'tasks')
    .optional()
    .describe(`Tasks one worker runs at once (${SETTINGS.concurrency.env}). Default from config/task.env.`),
  leaseSeconds: wholeNumber(1, MAX_LEASE_SECONDS, 'seconds')
    .optional()
    .describe(
      `Task lease in seconds (${SETTINGS.leaseSeconds.env}; SQS caps it at ${MAX_LEASE_SECONDS}, Pub/Sub takes ` +
        '10–600: the ack deadline). Default from config/task.env.',
    ),
  graceSeconds: wholeNumber(0, 3600, 'seconds')
    .optional()
    .describe(
      `Seconds running tasks get to finish after SIGTERM (${SETTINGS.graceSeconds.env}). Default from config/task.env.`,
    ),
  maxAttempts: wholeNumber(1, 1000, 'attempts')
    .optional()
    .describe(
      `Attempts before a failing task is dead-lettered (${SETTINGS.maxAttempts.env}; Pub/Sub: 4–99, its ` +
        'dead-letter policy allows 5–100 deliveries and gets one more). Default from config/task.env.',
    ),
});

export const sizingSchema = z.strictObject({
  daemonSetCpu: quantity('cpu')
    .default('460m')
    .describe('CPU the system DaemonSets request on every node. Default 460m (Dataplane V2 + Workload Identity).'),
  daemonSetMemory: quantity('memory')
    .default('420Mi')
    .describe('Memory the system DaemonSets request on every node. Default 420Mi.'),
  memorySlackPercent: wholeNumber(0, 50, 'percent')
    .default(3)
    .describe("Allocatable memory held back for the autoscaler's stricter model, in percent. Default 3."),
});

export type WorkersInput = z.output<typeof workersSchema>;
export type SizingInput = z.output<typeof sizingSchema>;
