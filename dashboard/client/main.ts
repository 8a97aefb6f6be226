/**
 * The dashboard page: polls `/api/summary`, renders it, and requeues a failure group after the
 * user confirms in a dialog. All data comes from this page's own server.
 */
import type { FailureGroup, RequeueResponse, Summary } from '../api';
import { formatCount } from '../../lib/ops/units';
import { ThroughputChart } from './chart';
import { byId } from './dom';
import { renderFailures, renderHeader, renderNotes, renderProgress, renderRuns, renderWorkers } from './render';

const TOKEN = document.querySelector<HTMLMetaElement>('meta[name="dashboard-token"]')?.content ?? '';
const chart = new ThroughputChart(byId('chart'));
let pollTimer: number | undefined;

const lastRendered = new Map<string, string>();

/** Redraws a section only when its data changed, so an open example or a button under the pointer stays put. */
function whenChanged(section: string, data: unknown, draw: () => void): void {
  const key = JSON.stringify(data);
  if (lastRendered.get(section) === key) return;
  lastRendered.set(section, key);
  draw();
}

function render(summary: Summary): void {
  renderHeader(summary);
  renderProgress(summary);
  whenChanged('runs', summary.runs?.runs.concat(summary.runs.noRun ?? []), () => renderRuns(summary));
  chart.update(summary.history, summary.status.kind === 'sqs');
  whenChanged('failures', summary.failures, () => renderFailures(summary, askToRequeue));
  whenChanged('workers', summary.runs?.workers, () => renderWorkers(summary));
  whenChanged('notes', [summary.notes, summary.history.length === 0], () => renderNotes(summary));
  document.body.dataset.updated = summary.time;
}

function toast(message: string): void {
  const element = byId('toast');
  element.textContent = message;
  element.hidden = false;
}

async function poll(): Promise<void> {
  let delay = 2000;
  try {
    const response = await fetch('/api/summary', { cache: 'no-store' });
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    const summary = (await response.json()) as Summary;
    render(summary);
    delay = Math.max(1000, summary.sampleSeconds * 1000);
  } catch (error) {
    const problem = byId('problem');
    problem.hidden = false;
    problem.textContent = `The dashboard server does not answer (stopped?): ${(error as Error).message}`;
  }
  pollTimer = window.setTimeout(() => void poll(), delay);
}

function askToRequeue(group: FailureGroup): void {
  const dialog = byId<HTMLDialogElement>('confirm');
  const noun = group.count === 1 ? 'task' : 'tasks';
  byId('confirm-text').textContent =
    `Requeue ${formatCount(group.count)} ${noun} that failed with "${group.error}"? ` +
    'Workers pick up new code only when restarted: restart the workers started before your fix, ' +
    'or the tasks fail again.';
  dialog.returnValue = '';
  dialog.addEventListener(
    'close',
    () => {
      if (dialog.returnValue === 'ok') void requeue(group);
    },
    { once: true },
  );
  dialog.showModal();
}

async function requeue(group: FailureGroup): Promise<void> {
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-testid="requeue"]')) button.disabled = true;
  try {
    const response = await fetch('/api/requeue', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Dashboard-Token': TOKEN },
      body: JSON.stringify({ group: group.key }),
    });
    const answer = (await response.json()) as RequeueResponse | { error: string };
    if ('error' in answer) throw new Error(answer.error);
    render(answer.summary);
    toast(answer.message);
  } catch (error) {
    toast(`Nothing was requeued: ${(error as Error).message}`);
  } finally {
    for (const button of document.querySelectorAll<HTMLButtonElement>('[data-testid="requeue"]')) {
      button.disabled = false;
    }
  }
}

window.clearTimeout(pollTimer);
void poll();
