/**
 * What the main thread checks about a leased message before it takes a thread: that it names a
 * registered task with valid parameters and an openable cloudpath, and that it has not been leased
 * more often than the attempts allow. A message that can never run is concluded without a thread.
 */
import { TaskMessageError } from '../lib/queue/errors';
import { formatTaskKey, runOfBody, TaskRun } from '../lib/queue/message';
import type { LeasedTask } from '../lib/queue/types';
import { parseCloudpath } from '../lib/storage';
import type { Happening } from './outcome';
import type { TaskRegistry } from './registry';
import type { Failure } from './results';
import { envName } from '../lib/settings/table';

export interface CheckResult {
  /** `module.name`, when the message named a task. */
  readonly name?: string;
  /** The run the message names (its envelope's `run`), if any: its outcome counts there. */
  readonly run?: TaskRun;
  /** Why the message cannot run, if it cannot. */
  readonly problem?: { readonly happening: Happening; readonly failure: Failure };
}

export class TaskCheck {
  /** Cloudpaths already parsed once: every task of a run usually shares one. */
  private readonly validCloudpaths = new Set<string>();

  constructor(
    private readonly registry: TaskRegistry,
    private readonly defaultCloudpath: string,
    private readonly maxAttempts: number,
  ) {}

  check(task: LeasedTask): CheckResult {
    let name: string;
    let run: TaskRun | undefined;
    try {
      const parsed = this.registry.parse(task.body);
      name = formatTaskKey(parsed.envelope.key);
      run = parsed.envelope.run;
      this.assertCloudpath(parsed.cloudpath ?? this.defaultCloudpath);
    } catch (error) {
      // Only TaskMessageError is expected; a schema whose own refinement throws is bad params too.
      const reason = error instanceof TaskMessageError ? error.reason : 'InvalidParams';
      const kind =
        reason === 'MalformedTask' ? 'malformed' : reason === 'UnknownTask' ? 'unknown-task' : 'invalid-params';
      return {
        run: runOfBody(task.body),
        problem: { happening: { kind }, failure: { name: reason, message: (error as Error).message } },
      };
    }
    if (task.attempt > this.maxAttempts) {
      const message =
        `leased ${task.attempt} times (${envName('maxAttempts')}=${this.maxAttempts}) without finishing: ` +
        'the workers running it were killed or lost its lease';
      return {
        name,
        run,
        problem: { happening: { kind: 'too-many-leases' }, failure: { name: 'TooManyAttempts', message } },
      };
    }
    return { name, run };
  }

  private assertCloudpath(cloudpath: string): void {
    if (this.validCloudpaths.has(cloudpath)) return;
    try {
      parseCloudpath(cloudpath);
    } catch (error) {
      throw new TaskMessageError(
        'InvalidParams',
        `cannot open the task's cloudpath ${JSON.stringify(cloudpath)}: ${(error as Error).message}`,
      );
    }
    this.validCloudpaths.add(cloudpath);
  }
}
