/**
 * The dashboard's server as a real process, without a browser: it answers only to its own
 * address (Host header), accepts a requeue only from its own page (JSON, same origin, the page's
 * token), refuses to listen anywhere but loopback, and serves Pub/Sub (pstest) too.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RequeueResponse, Summary } from '../dashboard/api';
import { createQueue, openQueue } from '../lib/queue';
import { exampleBodies, failureFor, runCli } from './ops.helpers';
import { startDashboardProcess, type DashboardProcess } from './support/dashboardProcess';
import { startPstest } from './support/pstest';
import { useToolServer } from './support/tools';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A raw HTTP request, so the test can set Host and Origin as another site's page would. */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<Reply>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.once('error', reject);
    req.end(options.body);
  });
}

/** The token the page carries (what a same-origin script reads). */
async function pageToken(dashboard: DashboardProcess): Promise<string> {
  const page = await send(dashboard.url);
  const match = /<meta name="dashboard-token" content="([^"]+)"/.exec(page.body);
  assert.ok(match, page.body);
  return match[1];
}

function requeue(dashboard: DashboardProcess, group: string, headers: Record<string, string>) {
  return send(new URL('/api/requeue', dashboard.url).href, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ group }),
  });
}

describe('dashboard server: local only', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(tmpdir(), 'dashboard-server-'));
  const url = `fq://${path.join(dir, 'q')}`;
  let dashboard: DashboardProcess;
  let group: string;

  before(async () => {
    await createQueue(url);
    const queue = await openQueue(url);
    try {
      await queue.insert(exampleBodies(3));
      const [task] = await queue.lease({ count: 1, seconds: 30 });
      await queue.deadLetter(task!, failureFor(task!, 'boom'));
    } finally {
      await queue.close();
    }
    dashboard = await startDashboardProcess(['--queue', url, '--port', '0']);
    const summary = JSON.parse((await send(new URL('/api/summary', dashboard.url).href)).body) as Summary;
    group = summary.failures.groups[0]!.key;
  });
  after(async () => {
    assert.equal(await dashboard?.stop(), 0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and serves the page with a strict content security policy', async () => {
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await send(dashboard.url);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'; script-src 'self'/);
    assert.match(page.body, /<script defer src="\/app.js">/);
    const script = await send(new URL('/app.js', dashboard.url).href);
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /javascript/);
    assert.ok(script.body.length > 20_000, 'the bundle should hold the page code and uPlot');
  });

  it('answers only to its own address in the Host header (DNS rebinding)', async () => {
    const port = new URL(dashboard.url).port;
    for (const host of [`evil.example:${port}`, `127.0.0.1.nip.example:${port}`, `127.0.0.1:1`]) {
      const reply = await send(new URL('/api/summary', dashboard.url).href, { headers: { Host: host } });
      assert.equal(reply.status, 403, host);
      assert.match(reply.body, /not this dashboard's address/);
    }
    const local = await send(new URL('/api/summary', dashboard.url).href, { headers: { Host: `localhost:${port}` } });
    assert.equal(local.status, 200);
  });

  it('refuses a requeue that does not come from its own page, and moves nothing', async () => {
    const token = await pageToken(dashboard);
    const origin = dashboard.url.replace(/\/$/, '');
    const refusals: Array<[Record<string, string>, RegExp]> = [
      [{}, /token is missing or stale/],
      [{ 'X-Dashboard-Token': 'guess' }, /token is missing or stale/],
      [{ 'X-Dashboard-Token': token, Origin: 'http://evil.example' }, /requests from http:\/\/evil.example/],
      [{ 'X-Dashboard-Token': token, 'Sec-Fetch-Site': 'cross-site' }, /cross-site/],
      [{ 'X-Dashboard-Token': token, 'Content-Type': 'text/plain' }, /must be JSON/],
    ];
    for (const [headers, why] of refusals) {
      const reply = await requeue(dashboard, group, headers);
      assert.equal(reply.status, 403, JSON.stringify(headers));
      assert.match(JSON.parse(reply.body).error, why);
    }
    const queue = await openQueue(url);
    try {
      assert.equal((await queue.counts()).failed, 1, 'a refused requeue moved a task');
    } finally {
      await queue.close();
    }
    const unknown = await requeue(dashboard, 'no such group', { 'X-Dashboard-Token': token, Origin: origin });
    assert.equal(unknown.status, 409);
    assert.match(JSON.parse(unknown.body).error, /nothing was requeued/);

    const accepted = await requeue(dashboard, group, { 'X-Dashboard-Token': token, Origin: origin });
    assert.equal(accepted.status, 200, accepted.body);
    const answer = JSON.parse(accepted.body) as RequeueResponse;
    assert.equal(answer.moved, 1);
    assert.equal(answer.summary.failures.total, 0);
  });

  it('refuses to listen on anything but loopback, and says how to reach it from elsewhere', async () => {
    for (const host of ['0.0.0.0', '192.168.1.5', '::']) {
      const refused = await startDashboardProcess(['--queue', url, '--host', host, '--port', '0']).then(
        () => assert.fail(`listened on ${host}`),
        (error: Error) => error.message,
      );
      assert.match(refused, /exited \(1\)/);
      assert.match(
        refused,
        new RegExp(`--host ${host.replace(/\./g, '\\.')}: the dashboard listens on this machine only`),
      );
      assert.match(refused, /ssh -L/);
    }
  });

  it('says which port is taken and how to choose another', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const refused = await startDashboardProcess(['--queue', url, '--port', String(port)]).then(
        () => assert.fail('listened on a taken port'),
        (error: Error) => error.message,
      );
      assert.match(refused, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`));
      assert.match(refused, /--port 0/);
    } finally {
      blocker.close();
    }
  });

  it('fails at once, with the fix, when the queue does not exist', async () => {
    const missing = `fq://${path.join(dir, 'never-created')}`;
    const refused = await startDashboardProcess(['--queue', missing, '--port', '0']).then(
      () => assert.fail('started on a missing queue'),
      (error: Error) => error.message,
    );
    assert.match(refused, /exited \(1\)/);
    assert.match(refused, /file queue .*never-created does not exist/);
    assert.match(refused, /fix: create it with `npm run queue:create/);
  });
});

describe('dashboard server: Pub/Sub (pstest)', function () {
  this.timeout(60_000);
  const pstest = useToolServer('pstest', startPstest);

  it('shows the dead letters grouped and what Pub/Sub cannot count, and requeues a group', async () => {
    const created = await runCli(
      'queue-create',
      ['--queue', 'pubsub://dash-project/dash-1', '--max-attempts', '5', '--json'],
      pstest.server.env,
    );
    assert.equal(created.code, 0, created.stderr);
    const url = JSON.parse(created.stdout).queue as string;
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    Object.assign(process.env, pstest.server.env);
    const queue = await openQueue(url);
    let dashboard: DashboardProcess | undefined;
    try {
      await queue.insert(exampleBodies(4, url));
      const tasks = await queue.lease({ count: 3, seconds: 30, waitSeconds: 2 });
      assert.equal(tasks.length, 3);
      for (const [i, task] of tasks.entries()) await queue.deadLetter(task, failureFor(task, i < 2 ? 'boom' : 'bang'));

      dashboard = await startDashboardProcess(['--queue', url, '--port', '0'], pstest.server.env);
      const summary = JSON.parse((await send(new URL('/api/summary', dashboard.url).href)).body) as Summary;
      assert.equal(summary.queue.kind, 'pubsub');
      assert.equal(summary.status.failed, 3);
      assert.equal(summary.status.enqueued, null);
      assert.equal(summary.progress.fraction, null);
      assert.deepEqual(
        summary.failures.groups.map((g) => [g.error, g.count]),
        [
          ['TaskError: boom', 2],
          ['TaskError: bang', 1],
        ],
      );
      assert.match(summary.notes.join('\n'), /num_undelivered_messages/);

      const token = await pageToken(dashboard);
      const reply = await requeue(dashboard, summary.failures.groups[0]!.key, { 'X-Dashboard-Token': token });
      assert.equal(reply.status, 200, reply.body);
      const answer = JSON.parse(reply.body) as RequeueResponse;
      assert.equal(answer.moved, 2);
      assert.deepEqual(
        answer.summary.failures.groups.map((g) => [g.error, g.count]),
        [['TaskError: bang', 1]],
      );
      const back = await queue.lease({ count: 10, seconds: 30, waitSeconds: 2 });
      assert.ok(back.length >= 2, `expected the 2 requeued tasks (and the one left) back, got ${back.length}`);
    } finally {
      await dashboard?.stop();
      await queue.close();
      if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
      else process.env.PUBSUB_EMULATOR_HOST = saved;
    }
  });
});
