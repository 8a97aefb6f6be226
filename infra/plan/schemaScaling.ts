/** The `scaling` config key: drain (a Job) or continuous (KEDA), and their limits. Pure. */
import { z } from 'zod';
import {
  BACKOFF_PER_WORKER,
  DEFAULT_COOLDOWN_SECONDS,
  KEDA_CHART_REPO,
  KEDA_CHART_VERSION,
  MIN_BACKOFF_LIMIT,
  POISON_TASKS_TOLERATED,
  SCALING_MODES,
} from './defaults';
import { wholeNumber } from './schemaFields';

export const scalingSchema = z.strictObject({
  mode: z
    .enum(SCALING_MODES, { error: `must be ${SCALING_MODES.join(' or ')}` })
    .default('drain')
    .describe(
      'drain (default): a Job whose workers exit once the queue is empty, then nodes scale to zero; continuous: a ' +
        'Deployment KEDA scales with the SQS queue.',
    ),
  run: z
    .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string({ error: 'must be a run id such as 2' }))
    .default('1')
    .describe(
      "drain: the run id, part of the Job's name; set a new one (2, 3, 2026-05-01) and pulumi up to start a new " +
        'run. Default "1".',
    ),
  maxWorkers: wholeNumber(1, 100000, 'workers')
    .optional()
    .describe(
      "Most workers at once: the Job's parallelism (drain) or KEDA's maximum (continuous); at most what the pool " +
        'holds. Default: workers.replicas.',
    ),
  queueLength: wholeNumber(1, 10000, 'tasks')
    .optional()
    .describe('continuous: tasks (waiting + in flight) per worker KEDA aims for. Default: workers.concurrency.'),
  backoffLimit: wholeNumber(0, 100000, 'crashes')
    .optional()
    .describe(
      `drain: worker crashes tolerated before the Job fails (spot preemptions do not count). Default: ` +
        `max(${MIN_BACKOFF_LIMIT}, ${BACKOFF_PER_WORKER} × maxWorkers) + ${POISON_TASKS_TOLERATED} × ` +
        `workers.maxAttempts, so a few poison tasks never abort the batch.`,
    ),
  cooldownSeconds: wholeNumber(0, 86400, 'seconds')
    .default(DEFAULT_COOLDOWN_SECONDS)
    .describe(
      `continuous: seconds the queue must stay empty before the workers scale to zero. Default ` +
        `${DEFAULT_COOLDOWN_SECONDS}.`,
    ),
  installKeda: z
    .boolean({ error: 'must be true or false' })
    .default(true)
    .describe(
      'continuous: install KEDA from its Helm chart (default true). false: KEDA (its CRDs, operator and metrics ' +
        'adapter) is already in the cluster, e.g. shared by several stacks; only the scaler objects are declared.',
    ),
  kedaChartVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'must be an exact chart version such as 2.20.2, not a range')
    .default(KEDA_CHART_VERSION)
    .describe(`continuous: version of KEDA's Helm chart, pinned. Default ${KEDA_CHART_VERSION}.`),
  kedaChartRepo: z
    .string()
    .regex(/^https:\/\/\S+$/, 'must be the https:// URL of a Helm chart repository (one with an index.yaml)')
    .default(KEDA_CHART_REPO)
    .describe(`continuous: Helm repository holding the keda chart. Default ${KEDA_CHART_REPO}.`),
});

export type ScalingConfigInput = z.output<typeof scalingSchema>;
