/**
 * Lets the lease loop wait for "a slot freed" or "stopping" without an AbortController per event
 * (each abort builds a DOMException with a stack: measurable at thousands of tasks per second).
 */
export class Wakeup {
  private readonly waiters = new Set<() => void>();

  /** Resolves at the next `notify()`, or after `timeoutMs` when given. */
  wait(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      this.waiters.add(done);
      if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
    });
  }

  notify(): void {
    if (this.waiters.size === 0) return; // the usual case: called per task, nobody waiting
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const done of waiting) done();
  }
}
