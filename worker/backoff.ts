/**
 * Capped exponential backoff with jitter, for the three waits of the worker: an empty queue, an
 * unreachable queue, and a failed task's retry delay.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

export interface BackoffPolicy {
  /** The first delay, in milliseconds. */
  readonly baseMs: number;
  /** No delay exceeds this, in milliseconds. */
  readonly capMs: number;
  /** Growth per step; 2 doubles. */
  readonly factor?: number;
}

/**
 * The delay before try `step` (1-based): `min(base * factor^(step-1), cap)`, then "equal jitter":
 * a uniformly random value in [delay/2, delay]. Jitter spreads many workers that failed together
 * apart, while the lower half keeps the delay from collapsing to zero.
 */
export function backoffDelay(step: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(step) - 1);
  const raw = Math.min(policy.baseMs * Math.pow(policy.factor ?? 2, exponent), policy.capMs);
  const delay = Math.max(0, raw);
  return delay / 2 + random() * (delay / 2);
}

/** A backoff that remembers its step: `next()` grows the delay, `reset()` starts over. */
export class Backoff {
  private step = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The next delay, in milliseconds. */
  next(): number {
    this.step += 1;
    return backoffDelay(this.step, this.policy);
  }

  reset(): void {
    this.step = 0;
  }

  /** How many delays were handed out since the last reset. */
  get steps(): number {
    return this.step;
  }
}

/**
 * The retry delay for a task that failed on `attempt`, in whole seconds (both backends take whole
 * seconds): 5 s, 10 s, 20 s, ... up to `capSeconds` (default 5 minutes).
 */
export function retryDelaySeconds(attempt: number, capSeconds = 300, baseSeconds = 5): number {
  const capMs = Math.max(0, capSeconds) * SECOND;
  return Math.round(backoffDelay(attempt, { baseMs: Math.min(baseSeconds * SECOND, capMs), capMs }) / SECOND);
}
