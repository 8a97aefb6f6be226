/**
 * The default heap limit of a task thread (the `taskHeapMb` setting): the memory the container may use
 * (its cgroup limit, else the machine's memory), less a reserve for the main thread, shared by
 * the concurrency slots. Only the JavaScript heap is limited: Buffers and typed arrays live outside
 * it and count against the container's limit alone.
 */
import { totalmem } from 'node:os';
import { MAIN_THREAD_RESERVE_MB, MIN_TASK_HEAP_MB } from '../lib/workerMemory';

export { MAIN_THREAD_RESERVE_MB, MIN_TASK_HEAP_MB };

/** Share of the remaining memory given to task heaps: young generation, code and stacks need the rest. */
const HEAP_SHARE = 0.75;

/** The container's memory limit in MB: the cgroup limit when there is one, else the machine's total. */
export function availableMemoryMb(): number {
  const total = totalmem();
  // 0, or a huge number, when no cgroup limit applies.
  const constrained = process.constrainedMemory?.() ?? 0;
  const bytes = constrained > 0 && constrained < total ? constrained : total;
  return Math.floor(bytes / 2 ** 20);
}

export function defaultTaskHeapMb(concurrency: number, memoryMb = availableMemoryMb()): number {
  const perTask = ((memoryMb - MAIN_THREAD_RESERVE_MB) * HEAP_SHARE) / concurrency;
  return Math.max(MIN_TASK_HEAP_MB, Math.floor(perTask));
}
