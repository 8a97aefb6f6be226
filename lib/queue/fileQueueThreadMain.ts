/**
 * The file queue's thread (fileQueueThread.ts): an ordinary, in-place `FileQueue` per queue root
 * runs each request it is sent, and the answer goes back with the request's id.
 */
import { parentPort } from 'node:worker_threads';
import { FileQueue } from './fileQueue';
import { ThreadReply, ThreadRequest, toThreadError } from './fileQueueThread';

const queues = new Map<string, FileQueue>();

function queueAt(root: string): FileQueue {
  let queue = queues.get(root);
  if (!queue) queues.set(root, (queue = new FileQueue(root)));
  return queue;
}

async function answer(request: ThreadRequest): Promise<ThreadReply> {
  const { id, root } = request;
  switch (request.op) {
    case 'lease':
      return { id, leased: await queueAt(root).lease(request.options) };
    case 'delete': {
      const queue = queueAt(root);
      const outcomes = await Promise.allSettled(request.tasks.map((task) => queue.delete(task)));
      return { id, deleted: outcomes.map((o) => (o.status === 'rejected' ? toThreadError(o.reason) : undefined)) };
    }
    case 'close':
      await queues.get(root)?.close();
      queues.delete(root);
      return { id, closed: true };
  }
}

const port = parentPort!;
port.on('message', (request: ThreadRequest) => {
  answer(request).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage({ id: request.id, error: toThreadError(error) }),
  );
});
port.postMessage({ ready: true } satisfies ThreadReply);
