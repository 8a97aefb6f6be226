/**
 * The worker process's exit codes (docs/worker.md): a contract between the worker, the local runner
 * (npm start) and the drain Job's pod failure policy, so it lives in lib/ where all three can read it.
 */

/** Stopped cleanly; with --exit-when-empty: the queue is drained. */
export const EXIT_OK = 0;
/** The queue refused the worker while it ran (deleted, permission revoked). */
export const EXIT_QUEUE_REFUSED = 1;
/** Bad configuration at start: every retry would fail the same way. */
export const EXIT_BAD_CONFIG = 2;
/**
 * --exit-when-empty only: stopped by a signal while tasks remain. Exit 0 means "the queue is
 * drained", after which a Kubernetes work-queue Job starts no new pods; a worker stopped early must
 * not say that.
 */
export const EXIT_STOPPED_BEFORE_DRAINED = 3;
