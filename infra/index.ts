/** The Pulumi program's building blocks. Nothing outside infra/ and index.ts may import this. */
export { GkeCluster, GkeClusterArgs, NODE_ROLES } from './cluster';
export { WorkerImage, WorkerImageArgs } from './image';
export { Workers, WorkersArgs } from './workers';
export { workerPodTemplate, WorkerPodArgs } from './workerPod';
export { readStackConfig, StackConfigError } from './stackConfig';
export { sizingOutput, watchCommands } from './outputs';
export type { StackConfig } from './validate';
