/** What every ops command shares: opening the queue and always closing it. */
import { openQueue } from '../queue';
import type { Queue } from '../queue/types';

/**
 * Opens the queue at `url`, runs `use`, and always closes it. A missing queue, missing
 * credentials or an unreachable endpoint arrive as `QueueError`s that already say what to do
 * (including the `npm run queue:create` command); `runMain` prints them.
 */
export async function withQueue<T>(url: string, use: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = await openQueue(url);
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}
