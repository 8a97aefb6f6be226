/**
 * The dashboard end to end, in real headless Chromium: a real queue (file queue; SQS on fauxqs)
 * worked by a real worker until some tasks are done and some dead-lettered, `npm run dashboard`
 * as a real process, the page loaded and read, a failure group requeued through the confirm
 * dialog, and screenshots checked for the chart's line and the failure table's text.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import type { Summary } from '../dashboard/api';
import { createQueue, openQueue } from '../lib/queue';
import { runCli } from './ops.helpers';
import { launchChromium, pixelStats } from './support/browser';
import { startDashboardProcess, type DashboardProcess } from './support/dashboardProcess';
import { useFauxqs } from './support/fauxqs';
import { requireToolOrSkip } from './support/tools';
import { FIXTURE_TASKS, killAllWorkers, spawnWorker } from './support/workerProcess';

const DONE = 20;
const NO_IMAGE = 4;
const DISK_FULL = 2;
const FAILED = NO_IMAGE + DISK_FULL;
/** The chart's throughput line and the failure table's error text (dashboard/client). */
const LINE_BLUE = '#2f6fdf';
const ERROR_RED = '#c23b3b';
const ARTIFACTS = process.env.TEST_ARTIFACTS ?? path.join(tmpdir(), 'gke-batch-test-artifacts');

/**
 * Two runs, through the real `npm run insert`: sleep tasks that succeed, and permanent failures
 * with two different errors (a second table into a non-empty queue: inserted, with a note).
 */
async function insertRuns(dir: string, url: string, env: Record<string, string>): Promise<void> {
  const sleeps = path.join(dir, 'sleeps.csv');
  const failing = path.join(dir, 'failing.csv');
  writeFileSync(sleeps, ['dir,name,ms', ...Array.from({ length: DONE }, (_, i) => `${dir},s${i},120`)].join('\n'));
  const messages = [
    ...Array.from({ length: NO_IMAGE }, (_, i) => `${dir},p${i},no image in the bucket`),
    ...Array.from({ length: DISK_FULL }, (_, i) => `${dir},d${i},disk full`),
  ];
  writeFileSync(failing, ['dir,name,message', ...messages].join('\n'));
  for (const [table, task] of [
    [sleeps, 'fixtures.sleep'],
    [failing, 'fixtures.permanent'],
  ]) {
    const inserted = await runCli(
      'insert',
      ['--queue', url, '--params', table, '--tasks', FIXTURE_TASKS, '--task', task, '--json'],
      env,
    );
    assert.equal(inserted.code, 0, inserted.stderr);
  }
}

async function summaryOf(dashboard: DashboardProcess): Promise<Summary> {
  const response = await fetch(new URL('/api/summary', dashboard.url));
  assert.equal(response.status, 200);
  return (await response.json()) as Summary;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const tileValue = (page: Page, name: string) => page.locator(`[data-testid="count-${name}"] dd`).innerText();

interface Backend {
  readonly name: string;
  readonly env: () => Record<string, string>;
  readonly newQueue: () => Promise<string>;
}

/** The scenario, the same on every backend; `expectations` says what each shows for counts. */
function scenario(
  backend: Backend,
  expectations: { readonly completed: string; readonly failedBefore: string; readonly progress: RegExp },
) {
  let browser: Browser;
  let page: Page;
  let dashboard: DashboardProcess;
  let url: string;
  let dir: string;
  let env: Record<string, string>;

  before(async function () {
    this.timeout(120_000);
    const chromiumPath = requireToolOrSkip(this, 'chromium');
    dir = mkdtempSync(path.join(tmpdir(), `dashboard-${backend.name}-`));
    url = await backend.newQueue();
    env = { ...backend.env(), CF_CLOUDPATH: `file://${path.join(dir, 'outputs')}` };
    await insertRuns(dir, url, env);
    dashboard = await startDashboardProcess(['--queue', url, '--port', '0', '--interval', '0.5'], env);
    // Let the chart get a few samples of an idle queue, then the worker's throughput.
    await sleep(1200);
    const worker = spawnWorker(['--queue', url, '--tasks', FIXTURE_TASKS, '--exit-when-empty'], env);
    await worker.waitForExit(60_000);
    await until('the dashboard to see the queue drained', async () => {
      const summary = await summaryOf(dashboard);
      return summary.status.failed === FAILED && 'drained' in summary.status && summary.status.drained
        ? summary
        : undefined;
    });
    await sleep(1200); // a few more samples: the chart's line comes back down
    browser = await launchChromium(chromiumPath);
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
    await page.goto(dashboard.url);
    await page.locator('[data-testid="failures-table"]').waitFor();
    assert.deepEqual(problems, [], 'the page logged errors (a CSP violation or a script error)');
  });

  after(async () => {
    await browser?.close();
    await killAllWorkers();
    const code = await dashboard?.stop();
    if (dashboard) assert.equal(code, 0, `the dashboard did not stop cleanly on Ctrl-C:\n${dashboard.output()}`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the numbers `npm run status` shows', async () => {
    const status = await runCli('status', ['--queue', url, '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout);
    assert.equal(report.failed, FAILED);
    assert.equal(await tileValue(page, 'completed'), expectations.completed);
    assert.equal(await tileValue(page, 'failed'), expectations.failedBefore);
    assert.equal(await tileValue(page, 'enqueued'), report.approximate ? '~0' : '0');
    assert.equal(await tileValue(page, 'inserted'), report.inserted === null ? 'unknown' : String(report.inserted));
    assert.equal(await tileValue(page, 'eta'), 'drained');
    assert.match(await page.getByTestId('progress-text').innerText(), expectations.progress);
    assert.match(await page.getByTestId('queue').innerText(), new RegExp(url.replace(/[.?*+^$()[\]\\|{}]/g, '\\$&')));
  });

  it('shows each run with its exact counts, as `npm run status` does', async () => {
    const status = JSON.parse((await runCli('status', ['--queue', url, '--json'], env)).stdout);
    const runs = status.runs.runs as Array<{ id: string; task: string; done: number; failed: number }>;
    assert.deepEqual(
      runs.map((r) => [r.task, r.done, r.failed]),
      [
        ['fixtures.sleep', DONE, 0],
        ['fixtures.permanent', 0, FAILED],
      ],
    );
    for (const run of runs) {
      const cells = await page.locator(`[data-testid="runs-table"] tr[data-run="${run.id}"] td`).allInnerTexts();
      // run, task, table, code, progress, done, failed, retrying, in flight, left, rate, ETA
      assert.equal(cells[0], run.id);
      assert.equal(cells[1], run.task);
      assert.equal(cells[5], String(run.done));
      assert.equal(cells[6], String(run.failed));
      assert.equal(cells[9], '0');
      assert.equal(cells[11], 'finished');
    }
    assert.match(await page.getByTestId('workers').innerText(), /No worker has sent a heartbeat/);
  });

  it('groups the failures by error, most frequent first', async () => {
    const rows = page.locator('[data-testid="failures-table"] tbody tr');
    assert.equal(await rows.count(), 2);
    const first = await rows.nth(0).innerText();
    const second = await rows.nth(1).innerText();
    assert.match(first, /^4\s/);
    assert.match(first, /no image in the bucket/);
    assert.match(first, /fixtures\.permanent/);
    assert.match(first, /r-\d{8}-\d{6}-[0-9a-f]{4}/, 'the run the failures belong to');
    assert.match(second, /^2\s/);
    assert.match(second, /disk full/);
    assert.match(await page.getByTestId('failures').innerText(), /6 dead-lettered tasks in 2 group\(s\)/);
  });

  it('draws the throughput chart and the failure table (screenshots)', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const full = await page.screenshot({ fullPage: true });
    writeFileSync(path.join(ARTIFACTS, `dashboard-${backend.name}.png`), full);

    const chart = await page.getByTestId('chart').screenshot();
    const chartPixels = await pixelStats(page, chart, [LINE_BLUE]);
    assert.ok(chartPixels.width >= 320 && chartPixels.height >= 200, JSON.stringify(chartPixels));
    // The line and its fill: a flat zero line alone would be a few hundred pixels at most.
    assert.ok(chartPixels.near[LINE_BLUE] > 300, `the chart shows no throughput line: ${JSON.stringify(chartPixels)}`);
    assert.ok(chartPixels.colours > 8, `the chart looks blank: ${JSON.stringify(chartPixels)}`);

    const table = await page.getByTestId('failures-table').screenshot();
    const tablePixels = await pixelStats(page, table, [ERROR_RED]);
    assert.ok(tablePixels.near[ERROR_RED] > 40, `no error text in the failure table: ${JSON.stringify(tablePixels)}`);
    assert.ok(tablePixels.colours > 8, `the failure table looks blank: ${JSON.stringify(tablePixels)}`);
  });

  it('requeues a failure group only after the user confirms', async () => {
    const row = page.locator('[data-testid="failures-table"] tbody tr', { hasText: 'no image in the bucket' });
    await row.getByTestId('requeue').click();
    const dialog = page.getByTestId('confirm');
    await dialog.waitFor({ state: 'visible' });
    assert.match(
      await dialog.innerText(),
      /Requeue 4 tasks that failed with "PermanentError: no image in the bucket"\?/,
    );
    assert.match(await dialog.innerText(), /restart the workers started before your fix/);
    await page.getByTestId('confirm-cancel').click();
    await dialog.waitFor({ state: 'hidden' });
    await sleep(700); // a requeue would have answered by now
    const untouched = await openQueue(url);
    try {
      assert.equal((await untouched.counts()).failed, FAILED, 'Cancel requeued something');
    } finally {
      await untouched.close();
    }

    await row.getByTestId('requeue').click();
    await dialog.waitFor({ state: 'visible' });
    await page.getByTestId('confirm-ok').click();
    const toast = page.getByTestId('toast');
    await toast.waitFor({ state: 'visible' });
    assert.match(await toast.innerText(), /^Requeued 4 of 4 tasks\. .*Workers pick up new code only when restarted/);

    const queue = await openQueue(url);
    try {
      const counts = await until('the requeued tasks to show in the queue', async () => {
        const c = await queue.counts();
        return c.enqueued === NO_IMAGE && c.failed === DISK_FULL ? c : undefined;
      });
      assert.equal(counts.enqueued, NO_IMAGE);
    } finally {
      await queue.close();
    }
    const rows = page.locator('[data-testid="failures-table"] tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.nth(0).innerText(), /disk full/);
    // As with `npm run requeue`, the requeued tasks leave their run's failed count and are left again.
    const permanent = page.locator('[data-testid="runs-table"] tr', { hasText: 'fixtures.permanent' });
    const cells = await until('the run to count the requeued tasks as left', async () => {
      const texts = await permanent.locator('td').allInnerTexts();
      return texts[6] === String(DISK_FULL) ? texts : undefined;
    });
    assert.equal(cells[9], String(NO_IMAGE), 'left');
  });

  it('lists the workers seen recently', async () => {
    const worker = spawnWorker(['--queue', url, '--tasks', FIXTURE_TASKS], env);
    const started = await worker.waitForLog((line) => line.message === 'worker started');
    const row = page.locator('[data-testid="workers-table"] tbody tr');
    await row.first().waitFor({ timeout: 20_000 });
    const text = await row.first().innerText();
    assert.match(text, new RegExp(`:${worker.pid}\\b`), `${text}\n${JSON.stringify(started)}`);
    assert.match(text, /src-[0-9a-f]{12}/);
  });
}

describe('dashboard in headless Chromium: file queue', function () {
  this.timeout(60_000);
  const root = mkdtempSync(path.join(tmpdir(), 'dashboard-fq-queues-'));
  let n = 0;
  after(() => rmSync(root, { recursive: true, force: true }));
  scenario(
    {
      name: 'fq',
      env: () => ({}),
      newQueue: async () => {
        const url = `fq://${path.join(root, `q${++n}`)}`;
        await createQueue(url);
        return url;
      },
    },
    { completed: String(DONE), failedBefore: String(FAILED), progress: /^100\.0%\s+26 of 26 done$/ },
  );
});

describe('dashboard in headless Chromium: SQS (fauxqs)', function () {
  this.timeout(60_000);
  const fauxqs = useFauxqs();
  let n = 0;
  scenario(
    {
      name: 'sqs',
      env: () => fauxqs.server.env,
      newQueue: async () => {
        const created = await runCli(
          'queue-create',
          ['--queue', `sqs://dashboard-${++n}`, '--json'],
          fauxqs.server.env,
        );
        assert.equal(created.code, 0, created.stderr);
        return JSON.parse(created.stdout).queue as string;
      },
    },
    {
      completed: 'unknown',
      failedBefore: `~${FAILED}`,
      progress: /^100\.0%\s+~26 of ~26 drained since the dashboard started$/,
    },
  );
});
