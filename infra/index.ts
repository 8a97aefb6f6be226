/** The Pulumi program's building blocks. Only index.ts (the program) and tests import infra/. */
export { GkeCluster, NODE_ROLES } from './cluster';
export type { GkeClusterArgs } from './cluster';
export { WorkerImage } from './image';
export type { WorkerImageArgs } from './image';
export { Workers } from './workers';
export type { WorkersArgs } from './workers';
export {
  workerPodTemplate,
  workerEnv,
  workerResources,
  workerTolerations,
  workerLabels,
  TERMINATION_MARGIN_SECONDS,
  WORKER_UID,
} from './workerPod';
export type { WorkerPodArgs } from './workerPod';
export { readStackConfig, StackConfigError } from './stackConfig';
export { fullScaleInput, scalingOutput, sizingOutput, watchCommands } from './outputs';
export { scalingSummary, systemPoolName } from './scaling';
export type { StackConfig, NodePool, Workers as WorkersConfig } from './validate';
