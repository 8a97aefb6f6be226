/**
 * Which task files a file-queue worker tries to claim next. Instead of listing the whole `queue/`
 * directory on every lease (python-task-queue does; slow with millions of files), one directory
 * stream is read a chunk at a time across lease calls, each chunk shuffled so that workers reading
 * the same directory order rarely race for the same file. A stale candidate costs one failed
 * rename. Memory stays bounded by the chunk size whatever the queue size.
 */
import fs from 'node:fs';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parseTaskFileName } from './fileQueueLayout';

export class LeaseCandidates {
  private stream?: fs.Dir;
  private chunk: string[] = [];
  /** True when the current stream was opened during the running lease call. */
  private freshPass = false;

  constructor(
    private readonly queueDir: string,
    private readonly chunkSize = 1000,
  ) {}

  /** Call at the start of each lease call. */
  beginCall(): void {
    this.freshPass = false;
  }

  /**
   * The next file name whose timestamp is due at `now` (seconds), or undefined when a pass started
   * during this call has ended without one: the caller then stops looking.
   */
  async next(now: number): Promise<string | undefined> {
    for (;;) {
      const name = this.chunk.pop();
      if (name !== undefined) return name;
      if (!this.stream) {
        this.stream = fs.opendirSync(this.queueDir, { bufferSize: 256 });
        this.freshPass = true;
      }
      const ended = this.refill(now);
      if (this.chunk.length > 0) continue;
      if (!ended) {
        // a long run of leased tasks: keep reading, but let timers (lease renewals) run between chunks
        await yieldToEventLoop();
        continue;
      }
      this.stream.closeSync();
      this.stream = undefined;
      if (this.freshPass) return undefined;
      // the pass begun in an earlier call has ended: start another, so tasks released since are seen
    }
  }

  /** Reads one chunk of names due at `now`; true when the directory stream has ended. */
  private refill(now: number): boolean {
    const stream = this.stream!;
    for (let scanned = 0; this.chunk.length < this.chunkSize && scanned < this.chunkSize * 10; scanned++) {
      const entry = stream.readSync();
      if (entry === null) {
        shuffle(this.chunk);
        return true;
      }
      const parsed = parseTaskFileName(entry.name);
      if (parsed && parsed.timestamp <= now) this.chunk.push(entry.name);
    }
    shuffle(this.chunk);
    return false;
  }

  close(): void {
    this.stream?.closeSync();
    this.stream = undefined;
    this.chunk = [];
  }
}

function shuffle<T>(items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
}
