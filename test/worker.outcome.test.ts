/**
 * The outcome policy (worker/outcome.ts), row by row as README's "What happens to a task" table
 * and docs/worker.md state it. Each row: the situation, the action, the outcome name, and whether
 * it counts as a failed attempt.
 */
import assert from 'node:assert/strict';
import { Action, decide, Happening, TaskOutcome } from '../worker/outcome';

const MAX = 5;
/** Deterministic stand-in for the jittered 5 s · 2^(attempt−1) delay. */
const config = { maxAttempts: MAX, retryDelaySeconds: (attempt: number) => 5 * 2 ** (attempt - 1) };

interface Row {
  readonly situation: string;
  readonly happening: Happening;
  readonly attempt?: number;
  readonly leaseLost?: boolean;
  readonly action: Action;
  readonly outcome: TaskOutcome;
  readonly failed: boolean;
  /** The outcome log line must match this. */
  readonly says?: RegExp;
}

const threw: Happening = { kind: 'threw', errorName: 'TypeError', permanent: false };

const rows: Row[] = [
  {
    situation: 'the function returns',
    happening: { kind: 'returned' },
    action: { kind: 'delete' },
    outcome: 'succeeded',
    failed: false,
    says: /^task succeeded$/,
  },
  {
    situation: 'it throws, attempt < max',
    happening: threw,
    attempt: 2,
    action: { kind: 'release', delaySeconds: 10 },
    outcome: 'retried',
    failed: true,
    says: /threw TypeError, attempt 2 of 5\); retrying in 10 s/,
  },
  {
    situation: 'it throws, attempt = max',
    happening: threw,
    attempt: MAX,
    action: { kind: 'dead-letter', reason: 'TypeError', withStack: true },
    outcome: 'dead-lettered',
    failed: true,
    says: /last attempt/,
  },
  {
    situation: 'it throws a PermanentError on its first attempt',
    happening: { kind: 'threw', errorName: 'PermanentError', permanent: true },
    attempt: 1,
    action: { kind: 'dead-letter', reason: 'PermanentError', withStack: true },
    outcome: 'dead-lettered',
    failed: true,
    says: /failed permanently .*without retrying/,
  },
  {
    situation: 'it runs past the task timeout, attempt < max',
    happening: { kind: 'timed-out', timeoutSeconds: 30 },
    attempt: 1,
    action: { kind: 'release', delaySeconds: 5 },
    outcome: 'retried',
    failed: true,
    says: /ran past its 30 s timeout/,
  },
  {
    situation: 'it runs past the task timeout, attempt = max',
    happening: { kind: 'timed-out', timeoutSeconds: 30 },
    attempt: MAX,
    action: { kind: 'dead-letter', reason: 'TaskTimeout', withStack: false },
    outcome: 'dead-lettered',
    failed: true,
  },
  {
    situation: 'its thread runs out of heap, attempt < max',
    happening: { kind: 'out-of-memory', heapMb: 512 },
    attempt: 3,
    action: { kind: 'release', delaySeconds: 20 },
    outcome: 'retried',
    failed: true,
    says: /out of memory: its thread's heap limit is 512 MB/,
  },
  {
    situation: 'its thread runs out of heap, attempt = max',
    happening: { kind: 'out-of-memory', heapMb: 512 },
    attempt: MAX,
    action: { kind: 'dead-letter', reason: 'OutOfMemory', withStack: false },
    outcome: 'dead-lettered',
    failed: true,
  },
  {
    situation: 'its thread crashes (process.exit, an error outside the promise), attempt = max',
    happening: { kind: 'thread-crashed', errorName: 'ThreadExited' },
    attempt: MAX,
    action: { kind: 'dead-letter', reason: 'ThreadExited', withStack: true },
    outcome: 'dead-lettered',
    failed: true,
  },
  ...(['malformed', 'unknown-task', 'invalid-params'] as const).map((kind): Row => ({
    situation: `the message is ${kind}`,
    happening: { kind },
    attempt: 1,
    action: {
      kind: 'dead-letter',
      reason: { malformed: 'MalformedTask', 'unknown-task': 'UnknownTask', 'invalid-params': 'InvalidParams' }[kind],
      withStack: false,
    },
    outcome: 'dead-lettered',
    failed: false,
    says: /without running/,
  })),
  {
    situation: 'leased more than max times without an outcome',
    happening: { kind: 'too-many-leases' },
    attempt: MAX + 1,
    action: { kind: 'dead-letter', reason: 'TooManyAttempts', withStack: false },
    outcome: 'dead-lettered',
    failed: false,
  },
  {
    situation: 'lease lost, then the function returns',
    happening: { kind: 'returned' },
    leaseLost: true,
    action: { kind: 'delete' },
    outcome: 'completed-lease-lost',
    failed: false,
    says: /^task completed after its lease was lost; it may run again$/,
  },
  {
    situation: 'lease lost, then it throws (even at the last attempt)',
    happening: threw,
    attempt: MAX,
    leaseLost: true,
    action: { kind: 'leave' },
    outcome: 'lease-lost',
    failed: true,
    says: /after its lease was lost; left to the worker that holds it now/,
  },
  {
    situation: 'lease lost, the worker aborted and terminated it',
    happening: { kind: 'stopped' },
    leaseLost: true,
    action: { kind: 'leave' },
    outcome: 'lease-lost',
    failed: false,
  },
  {
    situation: 'shutdown: grace over or a second signal, task aborted or terminated',
    happening: { kind: 'stopped' },
    attempt: MAX,
    action: { kind: 'release', delaySeconds: 0 },
    outcome: 'released',
    failed: false,
    says: /released for another worker/,
  },
  {
    situation: 'shutdown: leased but not started',
    happening: { kind: 'unstarted-at-stop' },
    action: { kind: 'release', delaySeconds: 0 },
    outcome: 'released',
    failed: false,
  },
];

describe('worker outcome policy (README: what happens to a task)', () => {
  for (const row of rows) {
    it(row.situation, () => {
      const decision = decide(
        { happening: row.happening, attempt: row.attempt ?? 1, leaseLost: row.leaseLost ?? false },
        config,
      );
      assert.deepEqual(decision.action, row.action);
      assert.equal(decision.outcome, row.outcome);
      assert.equal(decision.failed, row.failed);
      if (row.says) assert.match(decision.message, row.says);
    });
  }

  it('never says "succeeded" unless the task returned while its lease held', () => {
    const kinds: Happening[] = [
      { kind: 'returned' },
      threw,
      { kind: 'timed-out', timeoutSeconds: 1 },
      { kind: 'out-of-memory', heapMb: 64 },
      { kind: 'stopped' },
    ];
    for (const happening of kinds)
      for (const leaseLost of [false, true])
        for (const attempt of [1, MAX]) {
          const { outcome, message } = decide({ happening, attempt, leaseLost }, config);
          const honest = happening.kind === 'returned' && !leaseLost;
          assert.equal(outcome === 'succeeded', honest, `${happening.kind} leaseLost=${leaseLost}`);
          assert.equal(/succeeded/.test(message), honest, message);
        }
  });
});
