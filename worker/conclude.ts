/**
 * The end of a task: asks the outcome policy (worker/outcome.ts) what a happening means, applies
 * that to the queue with the latest lease handle (delete, release, dead-letter or leave alone),
 * then counts it, logs it and reports it as a `taskEnded` event.
 */
import { QueueError } from '../lib/queue/errors';
import type { LeasedTask, Queue } from '../lib/queue/types';
import type { TaskEndedEvent, WorkerSummary } from './events';
import type { Logger } from './logger';
import { Decision, decide, Happening, PolicyConfig } from './outcome';
import { Failure, failureRecord, outcomeFields, settleWithRetries } from './results';
import type { Slot } from './slot';
import type { OutcomeRecorder, RunOutcome } from '../lib/runs/recorder';
import { codeVersion } from '../lib/runs/codeVersion';

export type Counters = {
  -readonly [K in keyof Omit<WorkerSummary, 'durationSeconds' | 'cpuSeconds' | 'mainThreadCpuSeconds'>]: number;
};

export interface ConcluderOptions {
  readonly queue: Queue;
  /** Removes a completed task: `queue.delete`, or a batcher in front of it. */
  readonly delete: (task: LeasedTask) => Promise<void>;
  readonly policy: PolicyConfig;
  readonly maxAttempts: number;
  readonly workerId: string;
  /** Counts the outcome per run (the worker's run store counters). */
  readonly recorder: OutcomeRecorder;
  /** True once shutdown's deadline exists: completion calls are no longer retried. */
  readonly pastDeadline: () => boolean;
  readonly onEnded: (event: TaskEndedEvent) => void;
  /** Whether anyone listens for `onEnded` (its event is built only then). */
  readonly endedWanted: () => boolean;
}

const COUNTER_OF = {
  succeeded: 'succeeded',
  retried: 'retried',
  'dead-lettered': 'deadLettered',
  released: 'released',
  'lease-lost': 'leaseLost',
  'completed-lease-lost': 'completedAfterLeaseLost',
} as const;

/** What each outcome counts as in a run's numbers; anything else leaves the task to run again. */
const RUN_OUTCOME_OF: Partial<Record<Decision['outcome'], RunOutcome>> = {
  succeeded: 'completed',
  'dead-lettered': 'failed',
  retried: 'retried',
};

export class Concluder {
  readonly counters: Counters = {
    succeeded: 0,
    failed: 0,
    retried: 0,
    deadLettered: 0,
    released: 0,
    leaseLost: 0,
    completedAfterLeaseLost: 0,
  };

  constructor(private readonly o: ConcluderOptions) {}

  /** Applies the policy's decision with the latest lease handle, then logs and counts it; finishes the slot. */
  async conclude(slot: Slot, happening: Happening, failure?: Failure): Promise<void> {
    if (slot.concluded) return;
    slot.concluded = true;
    const { leased, log } = slot;
    const decision = decide({ happening, attempt: leased.attempt, leaseLost: slot.heartbeat.lost }, this.o.policy);
    const durationMs = slot.startedAt ? Date.now() - slot.startedAt : 0;
    let recorded: RunOutcome = 'released';
    try {
      const latest = await slot.heartbeat.stop();
      await this.apply(decision, latest, log, failure);
      recorded = RUN_OUTCOME_OF[decision.outcome] ?? 'released';
      if (decision.failed) this.counters.failed++;
      this.counters[COUNTER_OF[decision.outcome]]++;
      log[decision.level](outcomeFields(decision, durationMs, this.o.maxAttempts, failure), decision.message);
      const action = decision.action;
      if (this.o.endedWanted()) {
        this.o.onEnded({
          taskId: leased.id,
          task: slot.name,
          attempt: leased.attempt,
          outcome: decision.outcome,
          durationMs,
          failed: decision.failed,
          reason: action.kind === 'dead-letter' ? action.reason : undefined,
          error: failure,
          retryDelaySeconds:
            action.kind === 'release' && decision.outcome === 'retried' ? action.delaySeconds : undefined,
        });
      }
    } catch (error) {
      this.logSettleFailure(error, log);
    } finally {
      this.o.recorder.settled(slot.run, recorded);
      slot.finish();
    }
  }

  private async apply(decision: Decision, latest: LeasedTask, log: Logger, failure?: Failure): Promise<void> {
    const { action } = decision;
    const { queue } = this.o;
    switch (action.kind) {
      case 'delete':
        return this.settle('delete', log, () => this.o.delete(latest));
      case 'release':
        return this.settle('release', log, () => queue.release(latest, action.delaySeconds));
      case 'dead-letter': {
        const record = {
          ...failureRecord(latest, action.reason, failure, action.withStack, this.o.workerId),
          codeVersion: codeVersion(),
        };
        return this.settle('dead-letter', log, () => queue.deadLetter(latest, record));
      }
      case 'leave':
        return;
    }
  }

  /** A completion call, retried on transient errors until shutdown's deadline exists. */
  private settle(what: string, log: Logger, call: () => Promise<void>): Promise<void> {
    return settleWithRetries(what, log, call, this.o.pastDeadline);
  }

  private logSettleFailure(error: unknown, log: Logger): void {
    if (error instanceof QueueError && error.code === 'LeaseLost') {
      this.counters.leaseLost++;
      log.error({ err: error }, 'the lease ran out before the task was settled: another worker may run it again');
    } else {
      log.error(
        { err: error },
        'could not settle the task with the queue: it becomes visible again when its lease expires',
      );
    }
  }
}
