/**
 * A worker-like child process for the file-queue race tests: waits for "go" on stdin, then leases
 * until the queue has nothing leasable, printing one JSON line per leased task, and optionally
 * deletes each. Usage: node -r tsx/cjs test/support/queueRacer.ts URL LEASE_SECONDS delete|keep
 */
import readline from 'node:readline';
import { openQueue } from '../../lib/queue';

async function main(): Promise<void> {
  const [url, leaseSeconds, mode] = process.argv.slice(2);
  if (!url || !leaseSeconds || (mode !== 'delete' && mode !== 'keep'))
    throw new Error('usage: queueRacer URL LEASE_SECONDS delete|keep');
  const queue = await openQueue(url);
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => {
    const lines = readline.createInterface({ input: process.stdin });
    lines.once('line', () => {
      lines.close();
      process.stdin.destroy();
      resolve();
    });
  });
  for (;;) {
    const tasks = await queue.lease({ count: 3, seconds: Number(leaseSeconds) });
    if (tasks.length === 0) break;
    for (const task of tasks) {
      process.stdout.write(`${JSON.stringify({ id: task.id, attempt: task.attempt, pid: process.pid })}\n`);
      if (mode === 'delete') await queue.delete(task);
    }
  }
  await queue.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
