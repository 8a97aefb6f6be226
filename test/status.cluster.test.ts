/**
 * `npm run status -- --cluster` against a real Kubernetes API server (etcd and kube-apiserver from
 * scripts/test-tools.sh, test/support/kubeApiServer.ts). The test writes what a GKE cluster in the
 * middle of a drain run holds: the stack's own drain Job manifest (infra/plan) with a status,
 * worker pods made from its template in several states (running, unschedulable, pulling an image
 * that fails, OOMKilled), a pod of something else, and nodes of two pools (one cordoned, one not
 * ready). Then it runs the real command as a child process and checks what it reports; and what it
 * says when the API server cannot be reached.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { drainJobManifest } from '../infra/plan/drainJob';
import { WORKER_HEALTH_PORT } from '../infra/plan/defaults';
import { K8S_NAMES } from '../infra/plan/names';
import { workerPodTemplate } from '../infra/plan/workerPod';
import type { ClusterSeen, ClusterUnreachable } from '../lib/ops/clusterReport';
import { createQueue } from '../lib/queue';
import { validateDev } from './support/devStack';
import { freePort } from './support/fauxqs';
import { startApiServer, type ApiServer } from './support/kubeApiServer';
import { requireToolOrSkip, useToolServer } from './support/tools';
import { startPstest } from './support/pstest';
import { runCli } from './ops.helpers';

const NAMESPACE = 'status-real';
const JOB = 'workers-run-7';

interface Json {
  [key: string]: unknown;
}
interface ObjectMeta {
  readonly name: string;
  readonly labels?: Record<string, string>;
}
interface Created extends Json {
  readonly metadata: ObjectMeta;
}

/** The stack's drain Job for the dev config, as `pulumi up` would send it. */
function stackJob(): Json {
  const validation = validateDev();
  assert.ok(validation.ok, 'the dev stack config is valid');
  const config = validation.config;
  const template = workerPodTemplate({
    image: 'europe-docker.pkg.dev/p/r/worker@sha256:' + 'ab'.repeat(32),
    workers: config.workers,
    pool: config.workerPool,
    queueUrl: config.queueUrl,
    cloudpath: config.cloudpath,
    serviceAccountName: K8S_NAMES.serviceAccount,
    healthzLivenessPort: WORKER_HEALTH_PORT,
  });
  const manifest = drainJobManifest({
    namespace: NAMESPACE,
    baseName: K8S_NAMES.job,
    runId: '7',
    parallelism: 3,
    graceSeconds: config.workers.graceSeconds,
    pod: { labels: template.metadata.labels, spec: template.spec, workerContainer: K8S_NAMES.container },
  });
  return { apiVersion: 'batch/v1', kind: 'Job', ...(manifest as Json) };
}

describe('status --cluster against a real Kubernetes API server', function () {
  this.timeout(180_000);
  let cluster: ApiServer;
  const queueDir = mkdtempSync(path.join(os.tmpdir(), 'status-cluster-'));
  const queueUrl = `fq://${path.join(queueDir, 'queue')}`;
  /** `npm run status` on the queue with the cluster view of `namespace`, plus `extra` flags. */
  const statusOf = (namespace: string, ...extra: string[]) =>
    runCli('status', [
      '--queue',
      queueUrl,
      ...extra,
      '--cluster',
      '--kubeconfig',
      cluster.kubeconfig,
      '--namespace',
      namespace,
    ]);

  before(async function () {
    const binary = requireToolOrSkip(this, 'kubernetes');
    cluster = await startApiServer(binary);
    await createQueue(queueUrl);
    const { api } = cluster;
    const now = new Date().toISOString();
    await api.request('POST', '/api/v1/namespaces', { metadata: { name: NAMESPACE } });
    // The ServiceAccount admission plugin wants the pods' accounts to exist: the stack creates the
    // workers' one, the controller manager (not running here) the default one.
    for (const name of [K8S_NAMES.serviceAccount, 'default']) {
      await api.request('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { metadata: { name } });
    }

    for (const [name, pool, ready, cordoned] of [
      ['gke-workers-a', 'workers', true, false],
      ['gke-workers-b', 'workers', true, true],
      ['gke-system-a', 'system', false, false],
    ] as const) {
      const node = await api.request<Created>('POST', '/api/v1/nodes', {
        metadata: { name, labels: { 'cloud.google.com/gke-nodepool': pool } },
        spec: { unschedulable: cordoned },
      });
      const condition = ready
        ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }
        : { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting' };
      await api.request('PUT', `/api/v1/nodes/${name}/status`, {
        ...node,
        status: { conditions: [{ ...condition, lastHeartbeatTime: now, lastTransitionTime: now }] },
      });
    }

    const job = await api.request<Created & { spec: { template: { metadata: ObjectMeta; spec: Json } } }>(
      'POST',
      `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
      stackJob(),
    );
    assert.equal(job.metadata.name, JOB);
    await api.request('PUT', `/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${JOB}/status`, {
      ...job,
      status: { startTime: now, active: 3, ready: 1, failed: 1 },
    });

    // Pods as the Job controller makes them: its template, with the labels the API added to it.
    const container = (state: Json, extra: Json = {}) => ({
      name: K8S_NAMES.container,
      image: 'worker',
      imageID: '',
      ready: false,
      restartCount: 0,
      state,
      ...extra,
    });
    const pods: [string, string | undefined, Json][] = [
      [
        'running',
        'gke-workers-a',
        {
          phase: 'Running',
          containerStatuses: [container({ running: { startedAt: now } }, { ready: true, restartCount: 1 })],
        },
      ],
      [
        'unschedulable',
        undefined,
        {
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.',
              lastTransitionTime: now,
            },
          ],
        },
      ],
      [
        'image',
        'gke-workers-a',
        {
          phase: 'Pending',
          containerStatuses: [
            container({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "worker"' } }),
          ],
        },
      ],
      [
        'oom',
        'gke-workers-a',
        {
          phase: 'Failed',
          containerStatuses: [
            container({ terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: now, finishedAt: now } }),
          ],
        },
      ],
    ];
    for (const [suffix, nodeName, status] of pods) {
      const pod = await api.request<Created>('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
        metadata: { name: `${JOB}-${suffix}`, labels: job.spec.template.metadata.labels },
        spec: { ...job.spec.template.spec, ...(nodeName ? { nodeName } : {}) },
      });
      await api.request('PUT', `/api/v1/namespaces/${NAMESPACE}/pods/${pod.metadata.name}/status`, {
        ...pod,
        status,
      });
    }
    // Not a worker: the selector leaves it out.
    await api.request('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, {
      metadata: { name: 'something-else', labels: { app: 'other' } },
      spec: { containers: [{ name: 'main', image: 'other' }], nodeName: 'gke-workers-a' },
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('--json reports the queue and, from the API, the Job, the pods by phase and reason, and the nodes', async () => {
    const run = await statusOf(NAMESPACE, '--json');
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as { queue: string; enqueued: number; cluster: ClusterSeen };
    assert.equal(report.queue, queueUrl);
    assert.equal(report.enqueued, 0);
    const seen = report.cluster;
    assert.equal(seen.reachable, true, JSON.stringify(seen));
    assert.equal(seen.server, cluster.server);
    assert.equal(seen.kubeconfig, cluster.kubeconfig);
    assert.equal(seen.namespace, NAMESPACE);
    assert.equal(seen.selector, 'app.kubernetes.io/name=gke-batch-worker');
    assert.deepEqual(seen.workloads, [
      {
        kind: 'Job',
        name: JOB,
        state: 'running',
        reason: null,
        active: 3,
        ready: 1,
        succeeded: 0,
        failed: 1,
        parallelism: 3,
        completions: null,
      },
    ]);
    const pods = seen.pods;
    assert.equal(pods.total, 4, 'the pod of something else is not counted');
    assert.deepEqual(pods.phases, { Pending: 2, Running: 1, Succeeded: 0, Failed: 1, Unknown: 0 });
    assert.deepEqual(pods.reasons.map((r) => [r.value, r.count]).sort(), [
      ['ImagePullBackOff', 1],
      ['OOMKilled', 1],
      ['Unschedulable', 1],
    ]);
    assert.deepEqual(pods.exitCodes, [{ value: 137, count: 1 }]);
    assert.equal(pods.restarts, 1);
    assert.equal(pods.oomKilled, 1);
    const unschedulable = pods.problems.find((pod) => pod.name === `${JOB}-unschedulable`);
    assert.equal(unschedulable?.message, '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.');
    assert.equal(pods.problems.find((pod) => pod.reason === 'OOMKilled')?.name, `${JOB}-oom`);
    assert.deepEqual(seen.nodes, {
      total: 3,
      ready: 2,
      cordoned: 1,
      pools: [
        { pool: 'system', total: 1, ready: 0, cordoned: 0 },
        { pool: 'workers', total: 2, ready: 2, cordoned: 1 },
      ],
    });
  });

  it('prints the same for people under the queue numbers', async () => {
    const run = await statusOf(NAMESPACE);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /\(file queue\)$/);
    assert.ok(lines.some((line) => /^enqueued +0/.test(line)));
    const from = lines.findIndex((line) => line.startsWith('cluster '));
    assert.ok(from > 0, run.stdout);
    const block = lines.slice(from).join('\n');
    assert.match(
      block,
      new RegExp(`^job +${JOB}: running, 3 active \\(1 ready\\), 0 succeeded, 1 failed; parallelism 3$`, 'm'),
    );
    assert.match(block, /^pods +4: 2 Pending, 1 Running, 1 Failed; restarts 1, 1 OOMKilled$/m);
    assert.match(block, /workers-run-7-unschedulable +Pending +Unschedulable: 0\/3 nodes are available/);
    assert.match(block, /workers-run-7-oom +Failed +OOMKilled, exit 137/);
    assert.match(
      block,
      /^nodes +3: 2 Ready, 1 not ready, 1 cordoned; by pool: system 1 \(0 Ready\), workers 2 \(2 Ready, 1 cordoned\)$/m,
    );
  });

  it('--watch --cluster: each sample carries the cluster (plain lines into a pipe, and JSON Lines)', async () => {
    const plain = await statusOf(NAMESPACE, '--watch', '1');
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(
      plain.stdout,
      new RegExp(
        `^  cluster job=${JOB} state=running active=3 succeeded=0 failed=1 pods=4 Pending=2 Running=1 Failed=1 `,
        'm',
      ),
    );
    assert.match(plain.stdout, /nodes=3 nodesReady=2 cordoned=1$/m);
    assert.match(plain.stdout, /^queue is empty/m);
    const json = await statusOf(NAMESPACE, '--watch', '1', '--json');
    assert.equal(json.code, 0, json.stderr);
    const samples = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { cluster: ClusterSeen });
    assert.equal(samples.length, 1, 'an empty queue ends the watch after one sample');
    assert.equal(samples[0]!.cluster.workloads[0]?.name, JOB);
    assert.equal(samples[0]!.cluster.pods.total, 4);
  });

  describe('with a Pub/Sub queue (pstest)', function () {
    const pstest = useToolServer('pstest', startPstest);

    it('--cluster adds the same cluster view to what Pub/Sub can tell, in text and JSON', async () => {
      const url = 'pubsub://status-cluster/jobs';
      const created = await runCli('queue-create', ['--queue', url], pstest.server.env);
      assert.equal(created.code, 0, created.stderr);
      const look = ['--cluster', '--kubeconfig', cluster.kubeconfig, '--namespace', NAMESPACE];
      const json = await runCli('status', ['--queue', url, ...look, '--json'], pstest.server.env);
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout) as { kind: string; cluster: ClusterSeen };
      assert.equal(report.kind, 'pubsub');
      assert.equal(report.cluster.reachable, true, JSON.stringify(report.cluster));
      assert.equal(report.cluster.workloads[0]?.name, JOB);
      assert.equal(report.cluster.pods.total, 4);
      assert.equal(report.cluster.nodes.total, 3);

      const text = await runCli('status', ['--queue', url, ...look], pstest.server.env);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /\(Pub\/Sub\)/);
      assert.match(text.stdout, /^enqueued +unknown/m);
      assert.match(text.stdout, new RegExp(`^job +${JOB}: running, 3 active \\(1 ready\\)`, 'm'));
      assert.match(text.stdout, /^pods +4: 2 Pending, 1 Running, 1 Failed/m);

      const watch = await runCli('status', ['--queue', url, ...look, '--watch', '1'], pstest.server.env);
      assert.equal(watch.code, 1, 'Pub/Sub cannot be watched: one clear error, cluster or not');
      assert.match(watch.stderr, /cannot watch .*: Pub\/Sub's API has no backlog count to follow/);
    });
  });

  it('a namespace without workers says whether it exists', async () => {
    const run = await statusOf('nowhere');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /namespace nowhere does not exist: pass --namespace/);
    assert.match(run.stdout, /^pods +none$/m);
  });

  it('an API server that does not answer: one line naming it and the fix, and the queue numbers still', async () => {
    // The same kubeconfig, pointed at a port nothing listens on.
    const closed = `https://127.0.0.1:${await freePort()}`;
    const text = readFileSync(cluster.kubeconfig, 'utf8');
    const file = path.join(queueDir, 'stale-kubeconfig.json');
    writeFileSync(file, text.replace(cluster.server, closed));
    const human = await runCli('status', ['--queue', queueUrl, '--cluster', '--kubeconfig', file]);
    assert.equal(human.code, 0, human.stderr);
    assert.ok(
      human.stdout.split('\n').some((line) => /^enqueued +0/.test(line)),
      human.stdout,
    );
    const lines = human.stdout.split('\n').filter((line) => line.startsWith('cluster '));
    assert.equal(lines.length, 1, human.stdout);
    assert.match(
      lines[0]!,
      new RegExp(`cannot reach the Kubernetes API at ${closed.replace(/\./g, '\\.')}: connect ECONNREFUSED`),
    );
    assert.match(lines[0]!, /pulumi stack output kubeconfig --show-secrets > kubeconfig\.json/);

    const json = await runCli('status', ['--queue', queueUrl, '--cluster', '--json', '--kubeconfig', file]);
    const unreachable = (JSON.parse(json.stdout) as { cluster: ClusterUnreachable }).cluster;
    assert.equal(unreachable.reachable, false);
    assert.equal(unreachable.server, closed);
    assert.match(unreachable.problem, /ECONNREFUSED/);
  });
});

describe('status --cluster without a Kubernetes API to ask', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'status-no-cluster-'));
  const queueUrl = `fq://${path.join(dir, 'queue')}`;
  let silent: Server;
  let silentPort: number;
  const sockets = new Set<Socket>();

  before(async () => {
    await createQueue(queueUrl);
    // Accepts connections and never answers, like a firewalled control plane that drops nothing.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as AddressInfo).port;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('no kubeconfig where kubectl looks: says so and how to write the stack one', async () => {
    const home = mkdtempSync(path.join(dir, 'home-'));
    const run = await runCli('status', ['--queue', queueUrl, '--cluster'], { HOME: home, KUBECONFIG: undefined });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^enqueued +0/m);
    assert.match(
      run.stdout,
      new RegExp(
        `^cluster {5}cannot reach the Kubernetes API: no kubeconfig at ${path.join(home, '.kube', 'config')}; ` +
          "write the stack's: pulumi stack output kubeconfig --show-secrets > kubeconfig.json, then pass " +
          '--kubeconfig kubeconfig.json$',
        'm',
      ),
    );
  });

  it('a server that never answers: gives up after --cluster-timeout, naming it', async () => {
    const file = path.join(dir, 'silent.kubeconfig.json');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'silent', cluster: { server: `https://127.0.0.1:${silentPort}` } }],
        contexts: [{ name: 'silent', context: { cluster: 'silent', user: 'me' } }],
        'current-context': 'silent',
        users: [{ name: 'me', user: { token: 'not-a-real-token' } }],
      }),
    );
    const started = Date.now();
    const run = await runCli('status', [
      '--queue',
      queueUrl,
      '--cluster',
      '--cluster-timeout',
      '1',
      '--kubeconfig',
      file,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(Date.now() - started < 10_000, 'the command ended soon after giving up, not when the socket did');
    assert.match(run.stdout, /^enqueued +0/m);
    assert.match(
      run.stdout,
      new RegExp(
        `^cluster {5}cannot reach the Kubernetes API at https://127\\.0\\.0\\.1:${silentPort}: no answer within 1 s; `,
        'm',
      ),
    );
  });
});
