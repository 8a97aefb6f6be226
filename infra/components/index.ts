/** The ComponentResources: they import the plan, never the reverse. */
export { GkeCluster, NODE_ROLES } from './cluster';
export type { GkeClusterArgs } from './cluster';
export { WorkerImage } from './image';
export type { WorkerImageArgs } from './image';
export { existingClusterProvider } from './existingCluster';
export { Workers } from './workers';
export type { WorkersArgs } from './workers';
export { WorkerMetrics } from './workerMetrics';
export type { WorkerMetricsArgs } from './workerMetrics';
