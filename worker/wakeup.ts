/**
 * Lets the lease loop wait for "a slot freed" or "stopping" without an AbortController per event
 * (each abort builds a DOMException with a stack: measurable at thousands of tasks per second).
 * A waiter may give a condition: a notify that finds it false leaves it waiting (notifies come
 * once or twice per task; most change nothing the waiter cares about).
 */
interface Waiter {
  readonly done: () => void;
  readonly until: (() => boolean) | undefined;
}

export class Wakeup {
  private readonly waiters = new Set<Waiter>();

  /** Resolves at the next `notify()` (one at which `until()` holds, when given), or after `timeoutMs`. */
  wait(timeoutMs?: number, until?: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        done: () => {
          if (timer) clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
        until,
      };
      this.waiters.add(waiter);
      if (timeoutMs !== undefined) timer = setTimeout(waiter.done, timeoutMs);
    });
  }

  notify(): void {
    if (this.waiters.size === 0) return; // the usual case: called per task, nobody waiting
    const waiting = [...this.waiters];
    for (const waiter of waiting) if (!waiter.until || waiter.until()) waiter.done();
  }
}
