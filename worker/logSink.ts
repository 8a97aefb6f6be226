/**
 * The worker's stdout for JSON lines, written once per event-loop turn instead of once per line:
 * at thousands of tasks per second a write call per line cost a third as much as a task's file
 * operations. A line is at most one turn late; what is pending at process exit (the event loop
 * ran dry, `process.exit`, an uncaught exception) is written synchronously then.
 */
import type { DestinationStream } from 'pino';

export class TurnBatchedStream implements DestinationStream {
  private pending = '';
  private scheduled = false;
  private readonly flushNow = () => this.flush();

  /** `target` writes synchronously (e.g. pino's sync destination). */
  constructor(private readonly target: { write(data: string): unknown }) {
    process.once('exit', this.flushNow);
  }

  write(line: string): void {
    this.pending += line;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushNow);
  }

  /** Writes what is pending now. */
  flush(): void {
    this.scheduled = false;
    if (this.pending === '') return;
    const data = this.pending;
    this.pending = '';
    this.target.write(data);
  }
}
