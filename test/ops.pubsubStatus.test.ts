/**
 * `status` on Pub/Sub counts the dead letters by reading their subscription within a time budget, on
 * Google's pstest: few dead letters are counted exactly; many, with a budget too small to read them
 * all, give "at least N" (a lower bound, said so in the report) and are all still there afterwards;
 * behind a link slower than a probe's 500 ms (toxiproxy), the probes wait long enough to hear them.
 */
import assert from 'node:assert/strict';
import { createQueue, openQueue } from '../lib/queue';
import { encodeTask } from '../lib/queue/message';
import type { PubsubQueue } from '../lib/queue/pubsubQueue';
import { DEAD_EMPTY_PULLS, FULL_PULL_MESSAGES, PROBE_PULL_MESSAGES } from '../lib/queue/pubsubDeadReader';
import { pubsubStatusReport, renderPubsubStatus, type PubsubStatusReport } from '../lib/ops/pubsubStatus';
import { startPstest, type PstestServer } from './support/pstest';
import { startToxiproxy } from './support/toxiproxy';
import { useToolServer } from './support/tools';

const PROJECT = 'status-budget';
/** More than the first (probing) pulls of a read can bring, and more than one full pull. */
const MANY = 3 * FULL_PULL_MESSAGES;
/** Long enough for a whole read of a few dead letters on a loaded machine. */
const GENEROUS_BUDGET_MS = 10_000;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('status on Pub/Sub: dead letters counted within a time budget (pstest)', function () {
  this.timeout(120_000);
  const pstest = useToolServer('pstest', startPstest);
  const opened: Array<{ close(): Promise<void> }> = [];
  let n = 0;

  after(async () => {
    await Promise.all(opened.map((queue) => queue.close()));
  });

  /** A queue whose dead-letter topic holds `count` messages, published there directly (as Pub/Sub forwards them). */
  async function queueWithDeadLetters(count: number): Promise<PubsubQueue> {
    const url = await createQueue(`pubsub://${PROJECT}/budget-${++n}`);
    const queue = (await openQueue(url)) as PubsubQueue;
    opened.push(queue);
    const { deadTopic, deadSubscription } = await queue.describe();
    const deadQueue = await openQueue(`pubsub://${deadTopic}/${deadSubscription.split('/').slice(2).join('/')}`);
    opened.push(deadQueue);
    const tasks = Array.from({ length: count }, (_, i) => encodeTask(['tasks.t', 'f'], { i }, url));
    assert.equal(await deadQueue.insert(tasks), count);
    return queue;
  }

  it('counts a few dead letters exactly, not as a lower bound', async () => {
    const queue = await queueWithDeadLetters(3);
    const report = await pubsubStatusReport(queue, Date.now(), GENEROUS_BUDGET_MS);
    assert.equal(report.failed, 3);
    assert.equal(report.failedIsLowerBound, false);
    assert.match(renderPubsubStatus(report).join('\n'), /^failed +3 +dead-lettered: npm run failures$/m);
    const again = await pubsubStatusReport(queue, Date.now(), GENEROUS_BUDGET_MS);
    assert.deepEqual([again.failed, again.failedIsLowerBound], [3, false], 'the first look gave them back');
  });

  it('counts no dead letters exactly as 0', async () => {
    const queue = await queueWithDeadLetters(0);
    const report = await pubsubStatusReport(queue, Date.now(), GENEROUS_BUDGET_MS);
    assert.deepEqual([report.failed, report.failedIsLowerBound], [0, false]);
  });

  it('says "at least N" when the budget ends the read early, and gives every message back', async () => {
    const queue = await queueWithDeadLetters(MANY);
    // A budget of 0 lets only the first pulls start: they cannot bring all of them.
    const report = await pubsubStatusReport(queue, Date.now(), 0);
    assert.equal(report.failedIsLowerBound, true);
    assert.ok(report.failed > 0, 'the first pulls brought some');
    assert.ok(report.failed <= DEAD_EMPTY_PULLS * PROBE_PULL_MESSAGES, `${report.failed} from the first pulls alone`);
    const json = JSON.parse(JSON.stringify(report)) as PubsubStatusReport;
    assert.equal(typeof json.failed, 'number');
    assert.equal(json.failedIsLowerBound, true);
    assert.match(
      renderPubsubStatus(report).join('\n'),
      new RegExp(`^failed +at least ${report.failed.toLocaleString('en-US')} +dead-lettered, not all counted`, 'm'),
    );

    const all = await collect(queue.listDeadLetters());
    assert.equal(all.length, MANY, 'a full read after the look finds every dead letter');
    assert.equal(new Set(all.map((letter) => letter.id)).size, MANY);
    const complete = await queue.countDeadLetters(GENEROUS_BUDGET_MS);
    assert.deepEqual(complete, { count: MANY, complete: true }, 'with time enough, status counts them all');
  });

  describe('behind a slow link', function () {
    /** Added to every answer: more than a probe's own 500 ms wait. */
    const SLOW_MS = 800;
    const toxiproxy = useToolServer('toxiproxy-server', startToxiproxy);
    it('hears the dead letters a probe of 500 ms would miss: a probe waits two round trips', async () => {
      const queue = await queueWithDeadLetters(3);
      const server: PstestServer = pstest.server;
      const proxy = await toxiproxy.server.addProxy('slow-pubsub', server.host, { latencyMs: SLOW_MS });
      const direct = process.env.PUBSUB_EMULATOR_HOST;
      process.env.PUBSUB_EMULATOR_HOST = proxy.listen;
      try {
        const slow = (await openQueue(queue.url)) as PubsubQueue;
        opened.push(slow);
        // The default budget is over before the first answer: only the first two probes run.
        const report = await pubsubStatusReport(slow, Date.now());
        assert.deepEqual([report.failed, report.failedIsLowerBound], [3, true], 'not "0", and not exact');
      } finally {
        process.env.PUBSUB_EMULATOR_HOST = direct;
      }
      assert.equal((await collect(queue.listDeadLetters())).length, 3, 'given back');
    });
  });
});
