/**
 * How many insert calls to keep in flight, decided as the insert runs. At cloud latency the rate
 * is (calls in flight × batch size) / round trip, so a fixed small number wastes the link, and a
 * fixed large one overloads a slow or throttling service. The window starts at `initial` and
 * grows by one per call answered about as fast as the fastest answer seen (the link has room:
 * one doubling per round trip, as in TCP's slow start), shrinks by a quarter, at most once per
 * round trip, when calls are answered much slower (they are queueing somewhere: back-pressure),
 * never below `initial` for that reason, and halves on throttling (the service asked us to slow
 * down), down to 1. Once per round trip, because every call answered within it met the same
 * queue: shrinking per slow answer collapsed the window to `initial` whenever CPU contention
 * slowed one round trip, and the insert then ran at a fraction of the pace the CPU allowed.
 */
export class AdaptiveWindow {
  private current: number;
  private fastestMs = Infinity;
  private peak: number;
  private shrunkAt = -Infinity;

  constructor(
    readonly initial: number,
    readonly max: number,
    /** An answer slower than fastest × this factor (+ slack) counts as queueing. */
    private readonly slowFactor = 2,
    private readonly slackMs = 5,
  ) {
    if (!(Number.isInteger(initial) && initial >= 1 && initial <= max))
      throw new RangeError(`window: initial ${initial} must be an integer from 1 to max ${max}`);
    this.current = initial;
    this.peak = initial;
  }

  /** Calls that may be in flight now. */
  get size(): number {
    return this.current;
  }

  /** The largest window reached. */
  get largest(): number {
    return this.peak;
  }

  /** A call was answered after `ms`, at `now` (ms on the `performance.now()` clock). */
  answered(ms: number, now = performance.now()): void {
    this.fastestMs = Math.min(this.fastestMs, ms);
    if (ms <= this.fastestMs * this.slowFactor + this.slackMs) {
      this.current = Math.min(this.max, this.current + 1);
      this.peak = Math.max(this.peak, this.current);
    } else if (now - this.shrunkAt >= ms) {
      this.current = Math.max(Math.min(this.initial, this.current), Math.floor((this.current * 3) / 4));
      this.shrunkAt = now;
    }
  }

  /** The service throttled a call (or part of one). */
  throttled(): void {
    this.current = Math.max(1, Math.floor(this.current / 2));
  }
}
