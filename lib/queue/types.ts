/**
 * The one queue interface shared by the inserter, the worker and the ops commands.
 *
 * Three backends implement it: the file queue (`fq://dir`, python-task-queue's on-disk format),
 * Amazon SQS (`sqs://name` or an `https://sqs.<region>.amazonaws.com/<account>/<name>` URL) and
 * Google Cloud Pub/Sub (`pubsub://project/name` or `pubsub://projects/P/topics/T/subscriptions/S`).
 * Open one with `openQueue(url)` from `lib/queue`.
 *
 * Message bodies are opaque strings here: encoding and decoding the python-task-queue envelope
 * lives in `message.ts`, so a malformed body can still be leased, inspected and dead-lettered.
 * A message is inserted with its id beside the body; no backend parses the body to find it.
 */

/** One message to insert: the task id and the body, opaque to the queue. */
export interface QueueMessage {
  /**
   * The task's id: letters, digits, `_` and inner single `-`, at most 128 characters (file queue:
   * the id in the file name, which must equal the body's envelope id; SQS: a message attribute).
   */
  readonly id: string;
  readonly body: string;
}

/** A task the caller holds the lease on. */
export interface LeasedTask {
  /**
   * Stable task id: the id it was inserted with (file queue: the id in the file name; SQS: our `taskId` attribute, else
   * the MessageId).
   */
  readonly id: string;
  /** The raw message body, exactly as stored. */
  readonly body: string;
  /** 1 on the first lease, 2 on the second, ... (SQS: ApproximateReceiveCount; file queue: the lease tally). */
  readonly attempt: number;
  /**
   * Backend token proving the lease (file queue: the task's current file name; SQS: the receipt handle).
   * Every lease operation updates it; always pass the latest `LeasedTask` returned.
   */
  readonly handle: string;
  /** When this lease ends, in epoch milliseconds, unless renewed. */
  readonly leaseExpiresAt: number;
  /** When the task was first received (SQS: ApproximateFirstReceiveTimestamp), in epoch ms, if known. */
  readonly firstLeasedAt?: number;
  /**
   * Where the backend caps this lease, in epoch ms (SQS: 12 h after this receive). `renew` never
   * goes past it: it returns a task whose `leaseExpiresAt` is clamped to it, and throws a
   * `LeaseLimitReached` QueueError once it is reached. Undefined: no cap (file queue).
   */
  readonly leaseCeilingAt?: number;
}

export interface LeaseOptions {
  /** How many tasks to lease at most (SQS: 1–10 per call). */
  readonly count: number;
  /** Lease length in seconds (SQS visibility timeout, at most 12 h). */
  readonly seconds: number;
  /** Long-poll wait in seconds when nothing is available (SQS: at most 20; file queue: ignored, returns at once). */
  readonly waitSeconds?: number;
  /** Aborts a long poll. */
  readonly signal?: AbortSignal;
}

export interface InsertOptions {
  /** Delay before the tasks become leasable, in seconds (SQS: at most 900). */
  readonly delaySeconds?: number;
  /**
   * Calls in flight at once, fixed. Unset: SQS adapts the number (batches of 10, 16 to 128 calls in flight); Pub/Sub
   * keeps 16 × 1,000 messages outstanding. File queue: ignored, its sequential synchronous writes beat parallel async
   * ones.
   */
  readonly concurrency?: number;
  /** Called after each flushed batch with the number of tasks it stored. */
  readonly onProgress?: (inserted: number) => void;
}

/** What a dead-lettered task carries about its last failure. */
export interface FailureRecord {
  readonly taskId: string;
  /** The raw message body of the task. */
  readonly body: string;
  /** Error class or reason, e.g. `TaskError`, `MalformedTask`, `UnknownTask`, `InvalidParams`. */
  readonly reason: string;
  readonly message: string;
  readonly stack?: string;
  readonly attempts: number;
  /** Worker identity (hostname/pod name and pid). */
  readonly worker: string;
  /** ISO 8601 time of the failure. */
  readonly failedAt: string;
  /** The code version the worker ran (lib/runs/codeVersion.ts); absent in older records. */
  readonly codeVersion?: string;
}

/** A task in the dead-letter place, as listed by `failures`. */
export interface DeadLetter {
  readonly id: string;
  readonly body: string;
  /** The failure record, when the task was dead-lettered by our worker (SQS redrive alone has none). */
  readonly failure?: FailureRecord;
}

export interface QueueCounts {
  /** Tasks in the queue: visible, leased and delayed together (python-task-queue's "enqueued"). */
  readonly enqueued: number;
  /** Tasks leased right now (in flight). */
  readonly leased: number;
  /** Tasks waiting for a delay to pass (SQS: ApproximateNumberOfMessagesDelayed; file queue: not distinguished, 0). */
  readonly delayed: number;
  /** Tasks ever inserted, where the backend counts them (file queue: `insertions`; SQS: unknown). */
  readonly inserted?: number;
  /**
   * Tasks completed (deleted after success), where the backend counts them (file queue: `completions`; SQS: unknown).
   */
  readonly completed?: number;
  /** Tasks in the dead-letter place. */
  readonly failed: number;
  /** True when the numbers are estimates (SQS's Approximate* attributes; a file queue too big to read in time). */
  readonly approximate: boolean;
}

export type QueueKind = 'fq' | 'sqs' | 'pubsub';

export interface Queue {
  readonly kind: QueueKind;
  /** The URL the queue was opened from, normalised (fq: absolute path; SQS: the https queue URL). */
  readonly url: string;

  /** Stores messages; resolves with how many were stored. Entry failures are errors, never silently dropped. */
  insert(messages: Iterable<QueueMessage> | AsyncIterable<QueueMessage>, options?: InsertOptions): Promise<number>;
  /** Leases up to `count` visible tasks; resolves with an empty array when none are available. */
  lease(options: LeaseOptions): Promise<LeasedTask[]>;
  /** Extends a lease to `seconds` from now; resolves with the task's new handle. */
  renew(task: LeasedTask, seconds: number): Promise<LeasedTask>;
  /** Ends a lease without completing the task: visible again after `delaySeconds` (default 0, i.e. now). */
  release(task: LeasedTask, delaySeconds?: number): Promise<void>;
  /** Removes a completed task (and counts it as completed where the backend keeps counts). */
  delete(task: LeasedTask): Promise<void>;
  /**
   * Removes several completed tasks in as few calls as the backend allows (SQS: DeleteMessageBatch,
   * 10 per call; Pub/Sub: one acknowledge). Resolves with one entry per task, in order: undefined when
   * it was removed, else that task's own error (e.g. a LeaseLost QueueError). Rejects only when the
   * calls failed as a whole. Optional: the worker removes tasks one by one where it is missing.
   */
  deleteMany?(tasks: readonly LeasedTask[]): Promise<Array<Error | undefined>>;
  /** Moves a task to the dead-letter place with its failure record and removes it from the queue. */
  deadLetter(task: LeasedTask, failure: FailureRecord): Promise<void>;
  /** Streams the dead-lettered tasks. */
  listDeadLetters(): AsyncIterable<DeadLetter>;
  /** Moves dead-lettered tasks back to the queue (all, or those whose id is listed); resolves with how many moved. */
  requeueDeadLetters(ids?: readonly string[]): Promise<number>;
  counts(): Promise<QueueCounts>;
  /** True when no task is enqueued (visible, leased or delayed). */
  isEmpty(): Promise<boolean>;
  /**
   * Makes every leased task visible now; resolves with how many were released. SQS cannot: throws an
   * UnsupportedOperation QueueError that says why.
   */
  releaseAll(): Promise<number>;
  /** Removes every task (and resets the counters where the backend keeps them). */
  purge(): Promise<void>;
  /** Frees clients and handles. */
  close(): Promise<void>;
}

export interface CreateQueueOptions {
  /**
   * Receives before a task is moved to the dead-letter queue by SQS itself (redrive policy maxReceiveCount; Pub/Sub:
   * the dead-letter policy's maxDeliveryAttempts, 5–100).
   */
  readonly maxReceiveCount?: number;
  /** Default visibility timeout (lease) in seconds for SQS (Pub/Sub: the subscription's ack deadline, 10–600). */
  readonly visibilityTimeoutSeconds?: number;
}
