import { createQueue, openQueue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import { noopTask } from '../test/fixtures/tasks';
async function main() {
  const [url, n] = process.argv.slice(2);
  const q = await openQueue(await createQueue(url!));
  await q.insert(
    Array.from({ length: Number(n) }, (_, i) => encodeTask(noopTask.key, { i }, 'bench')),
    { concurrency: 8 },
  );
  await q.close();
}
void main();
