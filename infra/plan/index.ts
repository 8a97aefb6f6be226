/** The pure plan: config schema, validation, sizing, machine table and prices, names, manifests. No Pulumi at run time.
 * */
export * from './defaults';
export type { StackConfig, NodePool, TaskDefaults, Scaling, AwsSettings, ImageSettings } from './types';
export { validateStackConfig } from './validate';
export type { ValidateContext, Validation } from './validate';
export { PROJECT } from './schema';
export { describeKeys } from './parse';
export type { ConfigValues } from './parse';
export {
  drainRunNotice,
  fullScaleInput,
  resizeJobCommand,
  scalingOutput,
  sizingOutput,
  watchCommands,
} from './outputs';
export { scalingSummary } from './cost';
export { systemPoolName } from './pools';
export { workerPodTemplate, workerEnv, workerResources, workerTolerations, workerLabels } from './workerPod';
export type { WorkerPodArgs } from './workerPod';
export { workerPodMonitoringManifest, POD_MONITORING_API_VERSION } from './podMonitoring';
