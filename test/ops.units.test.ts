import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { logsCommand } from '../lib/ops/failureGroups';
import { encodeTask } from '../lib/queue/message';
import type { QueueCounts } from '../lib/queue/types';
import { compactParams, describeDeadLetter, renderFailures } from '../lib/ops/failures';
import { buildStatusReport, progressOf, renderCounts, renderThroughput, renderWatchLine } from '../lib/ops/status';
import { ThroughputEstimator } from '../lib/ops/throughput';
import {
  alignColumns,
  formatCount,
  formatDuration,
  formatPercent,
  formatRate,
  percentOf,
  truncate,
} from '../lib/ops/units';

const fq = { url: 'fq:///tmp/q', kind: 'fq' as const };
const sqs = { url: 'https://sqs.us-east-1.amazonaws.com/1/q', kind: 'sqs' as const };

function fqCounts(c: Partial<QueueCounts>): QueueCounts {
  return { enqueued: 0, leased: 0, delayed: 0, inserted: 0, completed: 0, failed: 0, approximate: false, ...c };
}
function sqsCounts(c: Partial<QueueCounts>): QueueCounts {
  return { enqueued: 0, leased: 0, delayed: 0, failed: 0, approximate: true, ...c };
}

describe('ops: units', () => {
  it('formats counts, percentages, rates and durations for people', () => {
    const table: Array<[string, string]> = [
      [formatCount(1234567), '1,234,567'],
      [formatPercent(percentOf(1, 3)), '33.3%'],
      [formatPercent(percentOf(5, 0)), '--%'],
      [formatPercent(percentOf(undefined, 10)), '--%'],
      [formatRate(42), '42.0/s'],
      [formatRate(0.05), '3.0/min'],
      [formatRate(1 / 1800), '2.0/h'],
      [formatRate(0), '0/s'],
      [formatDuration(42.4), '42s'],
      [formatDuration(185), '3m 05s'],
      [formatDuration(2 * 3600 + 7 * 60 + 30), '2h 07m'],
      [formatDuration(3 * 86400 + 4 * 3600), '3d 04h'],
      [truncate('abcdef', 4), 'abc…'],
      [truncate('abc', 4), 'abc'],
    ];
    for (const [actual, expected] of table) assert.equal(actual, expected);
  });

  it('aligns columns left and right and trims trailing space', () => {
    const lines = alignColumns(
      [
        ['a', '1', 'x'],
        ['long', '1000', ''],
      ],
      ['left', 'right', 'left'],
    );
    assert.deepEqual(lines, ['a        1  x', 'long  1000']);
  });
});

describe('ops: throughput estimator', () => {
  it('measures completed + failed per second and the ETA on the file queue', () => {
    const est = new ThroughputEstimator(60_000);
    assert.equal(est.estimate(), null, 'one sample is not a rate');
    est.add({ at: 0, counts: fqCounts({ inserted: 1000, enqueued: 1000 }) });
    est.add({ at: 10_000, counts: fqCounts({ inserted: 1000, enqueued: 900, completed: 95, failed: 5 }) });
    const e = est.estimate();
    assert.ok(e);
    assert.equal(e.perSecond, 10);
    assert.equal(e.basis, 'processed');
    assert.equal(e.approximate, false);
    assert.equal(e.etaSeconds, 90);
  });

  it('keeps an honest ETA while an inserter still adds tasks (file queue)', () => {
    const est = new ThroughputEstimator();
    est.add({ at: 0, counts: fqCounts({ inserted: 100, enqueued: 100 }) });
    // 50 more inserted while 20 completed: enqueued grew, yet work is being done.
    est.add({ at: 4_000, counts: fqCounts({ inserted: 150, enqueued: 130, completed: 20 }) });
    const e = est.estimate();
    assert.equal(e?.perSecond, 5);
    assert.equal(e?.etaSeconds, 26);
  });

  it('uses the fall of enqueued on SQS, marked approximate', () => {
    const est = new ThroughputEstimator();
    est.add({ at: 0, counts: sqsCounts({ enqueued: 500 }) });
    est.add({ at: 5_000, counts: sqsCounts({ enqueued: 400 }) });
    const e = est.estimate();
    assert.equal(e?.basis, 'drained');
    assert.equal(e?.approximate, true);
    assert.equal(e?.perSecond, 20);
    assert.equal(e?.etaSeconds, 20);
  });

  it('forgets samples older than the window, so the rate follows the current workers', () => {
    const est = new ThroughputEstimator(10_000);
    est.add({ at: 0, counts: fqCounts({ inserted: 10_000, enqueued: 10_000 }) });
    est.add({ at: 10_000, counts: fqCounts({ inserted: 10_000, enqueued: 9_000, completed: 1_000 }) }); // 100/s
    est.add({ at: 20_000, counts: fqCounts({ inserted: 10_000, enqueued: 8_990, completed: 1_010 }) }); // then 1/s
    est.add({ at: 30_000, counts: fqCounts({ inserted: 10_000, enqueued: 8_980, completed: 1_020 }) });
    assert.equal(est.estimate()?.perSecond, 1);
    assert.equal(est.estimate()?.windowSeconds, 10);
  });

  it('starts over after a purge resets the counters', () => {
    const est = new ThroughputEstimator();
    est.add({ at: 0, counts: fqCounts({ inserted: 10, enqueued: 5, completed: 5 }) });
    est.add({ at: 1_000, counts: fqCounts({ inserted: 0, enqueued: 0, completed: 0 }) });
    assert.equal(est.estimate(), null);
  });

  it('has no ETA when nothing moves', () => {
    const est = new ThroughputEstimator();
    est.add({ at: 0, counts: fqCounts({ inserted: 10, enqueued: 10 }) });
    est.add({ at: 1_000, counts: fqCounts({ inserted: 10, enqueued: 10 }) });
    assert.equal(est.estimate()?.etaSeconds, null);
  });
});

describe('ops: status report', () => {
  it('computes ptq-style percentages on the file queue', () => {
    const r = buildStatusReport(
      fq,
      fqCounts({ inserted: 200, enqueued: 50, leased: 10, completed: 148, failed: 2 }),
      0,
    );
    assert.deepEqual(r.percent, { enqueued: 25, leased: 20, completed: 74, failed: 1 });
    assert.equal(r.drained, false);
    assert.equal(r.throughput, null);
    // Aligned: labels left, numbers and percentages right.
    assert.deepEqual(renderCounts(r), [
      'inserted   200',
      'enqueued    50      25.0% left',
      'leased      10  20.0% of queue  in flight',
      'completed  148           74.0%',
      'failed       2            1.0%  dead-lettered: npm run failures',
    ]);
  });

  it('marks SQS numbers approximate and says which ones SQS does not know', () => {
    const r = buildStatusReport(sqs, sqsCounts({ enqueued: 1234, leased: 4, delayed: 2, failed: 1 }), 0);
    assert.equal(r.inserted, null);
    assert.equal(r.completed, null);
    assert.equal(r.percent.enqueued, null);
    const text = renderCounts(r).join('\n');
    assert.match(text, /enqueued\s+~1,234/);
    assert.match(text, /delayed\s+~2/);
    assert.match(text, /inserted\s+unknown\s+SQS does not count insertions/);
    assert.match(text, /completed\s+unknown\s+SQS does not count completions/);
    assert.match(renderThroughput(r, 0), /--watch/);
  });

  it('shows progress and an ETA while watching', () => {
    const est = new ThroughputEstimator();
    est.add({ at: 0, counts: fqCounts({ inserted: 100, enqueued: 100 }) });
    const counts = fqCounts({ inserted: 100, enqueued: 60, completed: 40 });
    est.add({ at: 20_000, counts });
    const r = buildStatusReport(fq, counts, 20_000, est.estimate());
    assert.equal(r.etaSeconds, 30);
    assert.equal(progressOf(r, 100), 0.4);
    assert.match(renderThroughput(r, 20_000), /^throughput {2}2\.0\/s \(completed \+ failed, last 20s\) {3}ETA 30s/);
    assert.match(renderWatchLine(r), /inserted=100 enqueued=60 leased=0 completed=40 failed=0 rate=2\.0\/s eta=30s$/);
    const sqsReport = buildStatusReport(sqs, sqsCounts({ enqueued: 25 }), 0);
    assert.equal(progressOf(sqsReport, 100), 0.75, 'SQS progress is measured from the largest queue seen');
  });
});

describe('ops: failures listing', () => {
  const body = encodeTask(['tasks.example', 'count_primes'], { start: 0, count: 10, label: 'a b' }, 'q', 'id-1').body;

  it('describes a dead letter with its task, parameters and error first line', () => {
    const row = describeDeadLetter({
      id: 'id-1',
      body,
      failure: {
        taskId: 'id-1',
        body,
        reason: 'TaskError',
        message: 'boom\nsecond line',
        stack: 'Error: boom\n    at run (tasks/example.ts:1:1)',
        attempts: 3,
        worker: 'host/123',
        failedAt: '2025-01-02T03:04:05.678Z',
      },
    });
    assert.equal(row.task, 'tasks.example.count_primes');
    assert.deepEqual(row.params, { start: 0, count: 10, label: 'a b' });
    assert.equal(row.error, 'boom');
    assert.equal(row.attempts, 3);
    assert.equal(compactParams(row.params!), 'start=0 count=10 label="a b"');
    const short = renderFailures([row]);
    assert.match(short[1], /^id-1\s+tasks\.example\.count_primes\s+3\s+2025-01-02 03:04:05Z\s+TaskError: boom$/);
    assert.equal(short[2], '    start=0 count=10 label="a b"');
    assert.ok(!short.join('\n').includes('at run'), 'no stack without --full');
    const full = renderFailures([row], { full: true }).join('\n');
    assert.match(full, /worker: host\/123/);
    assert.match(full, / {4}at run \(tasks\/example\.ts:1:1\)/);
  });

  it('keeps a malformed body or a record-less SQS redrive readable', () => {
    const malformed = describeDeadLetter({ id: 'x', body: 'not json' });
    assert.equal(malformed.task, null);
    assert.match(malformed.malformed ?? '', /body is not JSON/);
    const [, line, bodyLine] = renderFailures([malformed]);
    assert.match(line, /\(malformed message\)\s+\?\s+-\s+malformed task message/);
    assert.equal(bodyLine, '    body: not json');
    const redriven = describeDeadLetter({ id: 'y', body });
    assert.equal(redriven.attempts, null);
    assert.match(renderFailures([redriven])[1], /no failure record \(moved by SQS redrive\)/);
  });

  it('prints a logs command that pastes safely whatever the id holds (quotes, $, spaces)', () => {
    const id = `it's "x" $(touch y) \\ *`;
    const here = describeDeadLetter({ id, body: 'x' });
    const remote = { ...here, worker: 'pod-elsewhere-0:1' };
    // A real shell parses each command; printf shows the words grep and gcloud would receive.
    const words = (command: string, program: string) =>
      execFileSync('bash', ['-c', command.replace(program, "printf '%s\\n'")], { encoding: 'utf8' }).split('\n');
    assert.equal(words(logsCommand(here), 'grep -hF')[0], `"taskId":${JSON.stringify(id)}`);
    const filter = words(logsCommand(remote), 'gcloud logging read')[0]!;
    assert.equal(filter, `resource.type="k8s_container" AND jsonPayload.taskId=${JSON.stringify(id)}`);
  });
});
