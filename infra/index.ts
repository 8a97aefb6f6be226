/** The Pulumi program's building blocks. Only index.ts (the program) and tests import infra/. */
export * from './plan';
export * from './components';
export { readStackConfig, StackConfigError } from './stackConfig';
export type { LoadedStackConfig } from './stackConfig';
export type { Workers as WorkersConfig } from './plan/types';
