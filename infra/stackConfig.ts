/**
 * Reads the stack config from Pulumi, with the task settings of config/task.env as defaults for
 * the worker keys, and validates it before the program declares anything. The only impure glue
 * between Pulumi's runtime, the files on disk and the pure checks in validate.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { ConfigError, loadSettings, SHIPPED_ENV_FILE } from '../lib/settings';
import { PROJECT, readConfigValues } from './config';
import { StackConfig, TaskDefaults, validateStackConfig } from './validate';

/** Every problem of the stack config, printed by Pulumi without a stack trace. */
export class StackConfigError extends pulumi.RunError {
  constructor(readonly problems: readonly string[]) {
    super(
      `the stack config has ${problems.length} problem${problems.length === 1 ? '' : 's'} (nothing was changed):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        `\nSet values with: pulumi config set [--path] [--secret] ${PROJECT}:KEY VALUE (see docs/deploy.md)`,
    );
  }
}

export interface LoadedStackConfig {
  readonly config: StackConfig;
  readonly warnings: readonly string[];
}

/** The validated config, or a StackConfigError listing every problem. */
export function readStackConfig(projectDir: string = process.cwd()): LoadedStackConfig {
  const relativeShipped = path.relative(projectDir, SHIPPED_ENV_FILE) || SHIPPED_ENV_FILE;
  let taskDefaults: TaskDefaults;
  try {
    // The stack's own keys override these; the deployer's shell environment deliberately does not.
    taskDefaults = loadSettings({ env: {} });
  } catch (error) {
    if (error instanceof ConfigError) throw new StackConfigError(error.problems.map((p) => `${relativeShipped}: ${p}`));
    throw error;
  }
  const result = validateStackConfig(readConfigValues(), {
    taskDefaults,
    taskDefaultsSource: relativeShipped,
    projectDir,
    fileExists: existsSync,
  });
  if (!result.ok) throw new StackConfigError(result.problems);
  return { config: result.config, warnings: result.warnings };
}
