/** Renders each part of the summary into its section of the page. */
import type { RunView, WorkerView } from '../../lib/ops/runsView';
import type { FailureGroup, Summary } from '../api';
import { formatCount, formatDuration, formatPercent, formatRate } from '../../lib/ops/units';
import { byId, h, shortTime, type Child } from './dom';

const KIND = { fq: 'file queue', sqs: 'SQS', pubsub: 'Pub/Sub' } as const;

function tile(name: string, label: string, value: string, note = ''): HTMLElement {
  return h(
    'div',
    { 'data-testid': `count-${name}` },
    h('dt', {}, label),
    h('dd', { 'data-value': value }, value),
    note ? h('dt', {}, note) : null,
  );
}

export function renderHeader(summary: Summary): void {
  byId('queue').textContent = `${summary.queue.url} (${KIND[summary.queue.kind]})`;
  byId('updated').textContent = `updated ${new Date(summary.time).toLocaleTimeString()}`;
  const problem = byId('problem');
  problem.hidden = summary.problem === null;
  problem.textContent = summary.problem ? `Last sample failed (still sampling): ${summary.problem}` : '';
}

export function renderProgress(summary: Summary): void {
  const { progress, status } = summary;
  const fill = byId('bar-fill');
  fill.style.width = `${Math.round((progress.fraction ?? 0) * 1000) / 10}%`;
  const approx = summary.status.kind === 'sqs' ? '~' : '';
  const text =
    progress.fraction === null || progress.done === null || progress.total === null
      ? status.kind === 'pubsub'
        ? "Pub/Sub's API has no backlog count: progress is unknown."
        : 'Nothing inserted yet.'
      : `${formatPercent(Math.round(progress.fraction * 1000) / 10)}  ${approx}${formatCount(progress.done)} of ` +
        `${approx}${formatCount(progress.total)} ` +
        (progress.basis === 'counted' ? 'done' : 'drained since the dashboard started');
  byId('progress-text').textContent = text;

  const tiles: HTMLElement[] = [];
  const known = (n: number | null) => (n === null ? 'unknown' : `${approx}${formatCount(n)}`);
  if ('subscription' in status) {
    tiles.push(tile('failed', 'failed', formatCount(status.failed), 'dead-lettered'));
    tiles.push(tile('enqueued', 'enqueued', 'unknown'));
    tiles.push(tile('lease', 'lease', `${status.leaseSeconds}s`));
  } else {
    tiles.push(
      tile('inserted', 'inserted', status.inserted === null ? 'unknown' : formatCount(status.inserted)),
      tile('enqueued', 'enqueued', known(status.enqueued)),
      tile('leased', 'in flight', known(status.leased)),
      tile('completed', 'completed', status.completed === null ? 'unknown' : formatCount(status.completed)),
      tile('failed', 'failed', known(status.failed)),
    );
    const t = status.throughput;
    tiles.push(tile('throughput', 'throughput', t ? `${t.approximate ? '~' : ''}${formatRate(t.perSecond)}` : '–'));
    const eta = status.drained
      ? 'drained'
      : status.etaSeconds === null
        ? 'unknown'
        : `${t?.approximate ? '~' : ''}${formatDuration(status.etaSeconds)}`;
    tiles.push(tile('eta', 'ETA', eta));
  }
  byId('counts').replaceChildren(...tiles);
}

function table(testid: string, headers: readonly string[], rows: readonly HTMLElement[]): HTMLElement {
  return h(
    'table',
    { 'data-testid': testid },
    h('thead', {}, h('tr', {}, ...headers.map((name) => h('th', {}, name)))),
    h('tbody', {}, ...rows),
  );
}

const num = (value: Child) => h('td', { class: 'num' }, value);
const maybe = (n: number | null) => (n === null ? '–' : formatCount(n));

/** Finished runs shown besides the unfinished ones (`status` shows 3; a page has room for more). */
const FINISHED_SHOWN = 10;

function runRow(run: RunView): HTMLElement {
  const total = run.inserted ?? 0;
  const share = total > 0 ? (run.done + run.failed) / total : 0;
  const fill = h('div');
  // Set through the CSSOM, which the page's CSP allows (style attributes it does not).
  fill.style.width = `${Math.round(share * 1000) / 10}%`;
  const noRun = run.id === '_none';
  const table = run.table === null ? '–' : run.table.split(/[\\/]/).at(-1)!;
  const limit = run.limit === null ? '' : ` (first ${formatCount(run.limit)})`;
  const eta = noRun
    ? ''
    : run.finished
      ? 'finished'
      : run.left === null
        ? 'inserting'
        : run.etaSeconds === null
          ? 'unknown'
          : formatDuration(run.etaSeconds);
  return h(
    'tr',
    { 'data-run': run.id },
    h('td', {}, noRun ? '(no run)' : run.id),
    h('td', {}, run.task ?? '–'),
    h('td', { title: run.table ?? '' }, `${table}${limit}`),
    h('td', {}, run.codeVersion ?? '–'),
    h('td', {}, noRun ? '' : h('div', { class: 'bar small' }, fill)),
    num(formatCount(run.done)),
    num(formatCount(run.failed)),
    num(formatCount(run.retrying)),
    num(formatCount(run.inFlight)),
    num(maybe(run.left)),
    num(run.perSecond === null ? '–' : formatRate(run.perSecond)),
    num(eta),
  );
}

export function renderRuns(summary: Summary): void {
  const target = byId('runs');
  const report = summary.runs;
  if (report === null) return void target.replaceChildren(h('p', { class: 'note' }, 'No run data (see below).'));
  const unfinished = report.runs.filter((r) => !r.finished);
  const finished = report.runs.filter((r) => r.finished);
  const shown = [...finished.slice(-FINISHED_SHOWN), ...unfinished];
  if (report.noRun) shown.push(report.noRun);
  if (shown.length === 0) {
    return void target.replaceChildren(h('p', { class: 'note' }, `No runs recorded in ${report.store}.`));
  }
  const headers = ['run', 'task', 'table', 'code', 'progress', 'done', 'failed', 'retrying', 'in flight', 'left'];
  const hidden = finished.length - Math.min(finished.length, FINISHED_SHOWN);
  target.replaceChildren(
    table('runs-table', [...headers, 'rate', 'ETA'], shown.map(runRow)),
    ...(hidden > 0 ? [h('p', { class: 'note' }, `${formatCount(hidden)} older finished run(s) not shown.`)] : []),
  );
}

function failureRow(group: FailureGroup, onRequeue: (group: FailureGroup) => void): HTMLElement {
  const button = h('button', { 'data-testid': 'requeue', type: 'button' }, `Requeue ${formatCount(group.count)}`);
  button.addEventListener('click', () => onRequeue(group));
  const e = group.example;
  const where = e.run === null ? '' : ` (row ${e.row ?? '?'} of run ${e.run})`;
  const details = h(
    'details',
    {},
    h('summary', {}, `e.g. ${e.id}${where}`),
    h('div', { class: 'error' }, e.message),
    h('pre', {}, JSON.stringify(e.params, null, 2)),
    e.worker ? h('div', { class: 'note' }, `worker ${e.worker}, ${e.attempts ?? '?'} attempt(s)`) : null,
    group.codeVersions.length > 0 ? h('div', { class: 'note' }, `code ${group.codeVersions.join(', ')}`) : null,
    h('div', { class: 'note' }, 'logs: ', h('code', {}, e.logs)),
    e.stack ? h('pre', {}, e.stack) : null,
  );
  return h(
    'tr',
    { 'data-group': group.key },
    num(formatCount(group.count)),
    h('td', { class: 'error' }, group.error),
    h('td', {}, group.tasks.join(', ')),
    h('td', {}, group.runs.length === 0 ? '–' : group.runs.join(', ')),
    h('td', {}, shortTime(group.firstAt)),
    h('td', {}, shortTime(group.lastAt)),
    h('td', {}, details),
    h('td', {}, button),
  );
}

export function renderFailures(summary: Summary, onRequeue: (group: FailureGroup) => void): void {
  const target = byId('failures');
  const { total, groups } = summary.failures;
  if (total === 0) return void target.replaceChildren(h('p', { class: 'note' }, 'No failed tasks.'));
  const noun = total === 1 ? 'task' : 'tasks';
  target.replaceChildren(
    h('p', {}, `${formatCount(total)} dead-lettered ${noun} in ${formatCount(groups.length)} group(s) by error.`),
    table(
      'failures-table',
      ['count', 'error', 'task', 'run', 'first (UTC)', 'last (UTC)', 'example', ''],
      groups.map((g) => failureRow(g, onRequeue)),
    ),
  );
}

function workerRow(worker: WorkerView): HTMLElement {
  return h(
    'tr',
    { 'data-worker': worker.worker },
    h('td', {}, worker.worker),
    h('td', {}, worker.codeVersion),
    num(formatCount(worker.inFlight)),
    num(formatCount(worker.completed)),
    num(formatCount(worker.failed)),
    h('td', {}, shortTime(worker.startedAt)),
    h('td', {}, shortTime(worker.seenAt)),
  );
}

export function renderWorkers(summary: Summary): void {
  const target = byId('workers');
  const workers = summary.runs?.workers;
  if (workers === undefined) {
    return void target.replaceChildren(h('p', { class: 'note' }, 'No worker data (see below).'));
  }
  if (workers.length === 0) {
    return void target.replaceChildren(
      h('p', { class: 'note' }, 'No worker has sent a heartbeat in the last 20 s (stopped workers are not shown).'),
    );
  }
  const versions = [...new Set(workers.map((w) => w.codeVersion))];
  target.replaceChildren(
    table(
      'workers-table',
      ['worker', 'code', 'in flight', 'completed', 'failed', 'started (UTC)', 'last seen (UTC)'],
      workers.map(workerRow),
    ),
    ...(versions.length > 1
      ? [h('p', { class: 'problem' }, `Workers run ${versions.length} code versions (${versions.join(', ')}).`)]
      : []),
  );
}

export function renderNotes(summary: Summary): void {
  byId('notes').replaceChildren(...summary.notes.map((note) => h('li', {}, note)));
  const chartNote =
    summary.history.length === 0
      ? summary.status.kind === 'pubsub'
        ? "No throughput chart on Pub/Sub: its API has no backlog count (see Cloud Monitoring's subscription metrics)."
        : 'The chart fills in as the dashboard samples the queue (it shows the time since the dashboard started).'
      : `Sampled every ${summary.sampleSeconds}s since the dashboard started.`;
  byId('chart-note').textContent = chartNote;
}
