/**
 * The scaling section checked against the pool and the queue: how many workers at most, the nodes
 * they need, the drain Job's name and crash budget, the queue KEDA watches. Pure.
 */
import type { QueueLocation } from '../../lib/urls/queue';
import { workerNodesFor } from './cost';
import { defaultBackoffLimit } from './defaults';
import { drainJobName, runIdProblem } from './drainJob';
import { type CustomSqsEndpoint, sqsQueueAddress } from './keda';
import type { Scaling, ScalingInput, SqsQueueAddress } from './types';

export { SCALING_MODES } from './defaults';
export type { ScalingMode } from './defaults';
export type { Scaling, ScalingInput } from './types';

/** What the scaling checks need from the rest of the validated config. */
export interface ScalingContext {
  /** The queue, parsed by lib/urls. */
  readonly queue: QueueLocation;
  /** aws.endpoint's server and aws.region, when SQS is not AWS's own (KEDA then reads that server). */
  readonly sqsEndpoint?: CustomSqsEndpoint;
  readonly queueUrl: string;
  /** workers.replicas, resolved ("auto": what the pool holds). */
  readonly defaultWorkers: number;
  /** Workers the pool holds at maxNodes. */
  readonly capacity: number;
  readonly workersPerNode: number;
  readonly pool: { readonly name: string; readonly maxNodes: number; readonly index: number };
  /** workers.concurrency: the default queue length per worker. */
  readonly concurrency: number;
  /** workers.maxAttempts: how often one poison task can crash a worker. */
  readonly maxAttempts: number;
  /** The drain Job's name prefix. */
  readonly jobBaseName: string;
}

/** Resolves the defaults and checks the section against the pool and the queue; pushes one message per problem. */
export function checkScaling(input: ScalingInput, context: ScalingContext, problems: string[]): Scaling | undefined {
  const before = problems.length;
  const maxWorkers = input.maxWorkers ?? context.defaultWorkers;
  const from = input.maxWorkers === undefined ? ' (from workers.replicas)' : '';
  if (maxWorkers < 1) {
    problems.push(
      `scaling.maxWorkers ${maxWorkers}${from}: no worker would ever run; set scaling.maxWorkers to 1 or more`,
    );
  } else if (maxWorkers > context.capacity) {
    const nodes = Math.ceil(maxWorkers / context.workersPerNode);
    problems.push(
      `scaling.maxWorkers ${maxWorkers}${from}: pool ${context.pool.name} holds at most ${context.capacity} workers ` +
        `(${context.workersPerNode}/node × ${context.pool.maxNodes} nodes); raise ` +
        `nodePools[${context.pool.index}].maxNodes to ${nodes}, or lower scaling.maxWorkers to ${context.capacity}`,
    );
  }
  if (input.mode === 'drain') {
    const runProblem = runIdProblem(context.jobBaseName, input.run);
    if (runProblem) problems.push(`scaling.run ${input.run}: ${runProblem.replace(/^run id "[^"]*" /, '')}`);
  }
  let queue: SqsQueueAddress | undefined;
  // A Pub/Sub queue needs nothing more: KEDA's gcp-pubsub trigger takes the subscription's name.
  if (input.mode === 'continuous' && context.queue.kind === 'sqs') {
    queue = sqsQueueAddress(context.queue, context.sqsEndpoint);
    if (!queue) {
      problems.push(
        `scaling.mode continuous: KEDA reads the queue's length and needs its full AWS URL (with region and ` +
          `account), but queueUrl is ${context.queueUrl}; ` +
          'set queueUrl https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (npm run queue:create prints it; with ' +
          'aws.endpoint, the full URL that server gives), or use ' +
          'scaling.mode drain',
      );
    }
  }
  if (problems.length > before) return undefined;
  return {
    ...input,
    maxWorkers,
    queueLength: input.queueLength ?? context.concurrency,
    backoffLimit: input.backoffLimit ?? defaultBackoffLimit(maxWorkers, context.maxAttempts),
    workerNodes: workerNodesFor(maxWorkers, context.workersPerNode, context.pool.maxNodes),
    jobName: drainJobName(context.jobBaseName, input.run),
    queue,
  };
}
