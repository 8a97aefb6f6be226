/**
 * What the worker process needs in memory before it does any work: a contract between the worker
 * (worker/memory.ts sizes its task threads' heaps from it) and the stack's plan (infra/plan warns
 * when the workers' memory limit leaves less), so it lives in lib/ where both can read it.
 */

/** What the main thread (queue clients, logger, metrics) and each thread's own overhead keep. */
export const MAIN_THREAD_RESERVE_MB = 256;
/** No default task heap goes below this: smaller heaps fail on ordinary module loading. */
export const MIN_TASK_HEAP_MB = 64;

/** The least memory a worker with `concurrency` task threads runs in: below it the kernel OOM-kills it. */
export function workerMemoryFloorMb(concurrency: number): number {
  return MAIN_THREAD_RESERVE_MB + MIN_TASK_HEAP_MB * concurrency;
}
