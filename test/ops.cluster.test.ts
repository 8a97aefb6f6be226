/**
 * `status --cluster`'s pure parts: summarising the objects the Kubernetes API returns (typed by the
 * client's models, shaped as a GKE cluster returns them) and rendering the summary; explaining why
 * the API could not be read; where the kubeconfig is looked for.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { V1ContainerStatus, V1Deployment, V1Job, V1Node, V1Pod } from '@kubernetes/client-node';
import { jobView, podView, summariseCluster, type ClusterTarget } from '../lib/ops/clusterReport';
import { renderCluster, renderClusterWatchLine, renderUnreachable } from '../lib/ops/clusterRender';
import { CredentialsError, explainClusterError, KubeconfigMissingError } from '../lib/ops/clusterErrors';
import { kubeconfigFiles } from '../lib/ops/clusterFetch';
import { RUN_LABEL, WORKER_LABELS, WORKER_SELECTOR } from '../lib/workerPods';

const target: ClusterTarget = {
  server: 'https://34.118.2.10',
  kubeconfig: '/home/me/kubeconfig.json',
  context: 'gke_my-project_us-central1_gke-batch-dev',
  namespace: 'batch-workers',
  selector: WORKER_SELECTOR,
};
const created = new Date('2026-12-02T10:00:00Z');
const at = Date.parse('2026-12-02T10:30:00Z');

function workerPod(name: string, status: V1Pod['status'], extra: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'batch-workers',
      labels: { ...WORKER_LABELS, [RUN_LABEL]: '1', 'batch.kubernetes.io/job-name': 'workers-run-1' },
      creationTimestamp: created,
    },
    spec: { containers: [{ name: 'worker', image: 'worker@sha256:ab' }], nodeName: 'gke-node-1', ...extra },
    status,
  };
}

/** The worker container's status: `ready` false and no restarts unless given. */
function workerContainer(status: Partial<V1ContainerStatus>): V1ContainerStatus {
  return { name: 'worker', image: 'worker@sha256:ab', imageID: '', ready: false, restartCount: 0, ...status };
}

const running = workerPod('workers-run-1-aaaaa', {
  phase: 'Running',
  conditions: [{ type: 'Ready', status: 'True' }],
  containerStatuses: [workerContainer({ ready: true, state: { running: { startedAt: created } } })],
});
const unschedulable = workerPod(
  'workers-run-1-bbbbb',
  {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.',
      },
    ],
  },
  { nodeName: undefined },
);
const imagePull = workerPod('workers-run-1-ccccc', {
  phase: 'Pending',
  conditions: [{ type: 'PodScheduled', status: 'True' }],
  containerStatuses: [
    workerContainer({
      state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "worker@sha256:ab"' } },
    }),
  ],
});
const oomKilled = workerPod('workers-run-1-ddddd', {
  phase: 'Failed',
  containerStatuses: [
    workerContainer({
      state: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: created, finishedAt: created } },
    }),
  ],
});
const crashLooping = workerPod('workers-run-1-eeeee', {
  phase: 'Running',
  containerStatuses: [
    workerContainer({
      restartCount: 4,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container' } },
      lastState: { terminated: { exitCode: 2, reason: 'Error' } },
    }),
  ],
});
const succeeded = workerPod('workers-run-1-fffff', {
  phase: 'Succeeded',
  containerStatuses: [workerContainer({ state: { terminated: { exitCode: 0, reason: 'Completed' } } })],
});

const job: V1Job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'workers-run-1', namespace: 'batch-workers', labels: { ...WORKER_LABELS, [RUN_LABEL]: '1' } },
  spec: { parallelism: 6, backoffLimit: 20, template: { spec: { containers: [] } } },
  status: { active: 4, ready: 1, succeeded: 1, failed: 1, startTime: created },
};

function node(name: string, pool: string, ready: boolean, unschedulable = false): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'cloud.google.com/gke-nodepool': pool } },
    spec: { unschedulable },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}
const nodes = [
  node('gke-workers-1', 'workers', true),
  node('gke-workers-2', 'workers', true, true),
  node('gke-workers-3', 'workers', false),
  node('gke-system-1', 'system', true),
];

const pods = [running, unschedulable, imagePull, oomKilled, crashLooping, succeeded];

describe('status --cluster: summary', () => {
  it('tells each pod by phase and reason, with exit code, restarts and OOMKilled', () => {
    assert.deepEqual(
      pods.map(podView).map(({ name, phase, reason, exitCode, restarts, oomKilled }) => ({
        name: name.slice(-5),
        phase,
        reason,
        exitCode,
        restarts,
        oomKilled,
      })),
      [
        { name: 'aaaaa', phase: 'Running', reason: null, exitCode: null, restarts: 0, oomKilled: false },
        { name: 'bbbbb', phase: 'Pending', reason: 'Unschedulable', exitCode: null, restarts: 0, oomKilled: false },
        { name: 'ccccc', phase: 'Pending', reason: 'ImagePullBackOff', exitCode: null, restarts: 0, oomKilled: false },
        { name: 'ddddd', phase: 'Failed', reason: 'OOMKilled', exitCode: 137, restarts: 0, oomKilled: true },
        { name: 'eeeee', phase: 'Running', reason: 'CrashLoopBackOff', exitCode: 2, restarts: 4, oomKilled: false },
        { name: 'fffff', phase: 'Succeeded', reason: null, exitCode: 0, restarts: 0, oomKilled: false },
      ],
    );
    assert.equal(
      podView(unschedulable).message,
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available.',
    );
  });

  it('an evicted pod says Evicted (the pod reason outranks its container)', () => {
    const evicted = workerPod('workers-run-1-ggggg', {
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: ephemeral-storage.\nmore detail',
      containerStatuses: [
        {
          name: 'worker',
          image: 'w',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 143, reason: 'Error' } },
        },
      ],
    });
    const view = podView(evicted);
    assert.equal(view.reason, 'Evicted');
    assert.equal(view.message, 'The node was low on resource: ephemeral-storage.');
    assert.equal(view.exitCode, 143);
  });

  it('counts pods, reasons, exit codes, workloads and nodes by pool', () => {
    const deployment: V1Deployment = {
      metadata: { name: 'workers' },
      spec: { replicas: 5, selector: { matchLabels: { ...WORKER_LABELS } }, template: {} },
      status: { replicas: 5, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 5 },
    };
    const report = summariseCluster(target, { jobs: [job], deployments: [deployment], pods, nodes }, at);
    assert.equal(report.time, '2026-12-02T10:30:00.000Z');
    assert.deepEqual(report.pods.phases, { Pending: 2, Running: 2, Succeeded: 1, Failed: 1, Unknown: 0 });
    assert.deepEqual(report.pods.exitCodes, [{ value: 137, count: 1 }]);
    assert.equal(report.pods.restarts, 4);
    assert.equal(report.pods.oomKilled, 1);
    assert.equal(report.pods.troubled, 4);
    assert.deepEqual(
      report.pods.problems.map((pod) => pod.reason),
      ['OOMKilled', 'Unschedulable', 'ImagePullBackOff', 'CrashLoopBackOff'],
    );
    assert.deepEqual(report.nodes, {
      total: 4,
      ready: 3,
      cordoned: 1,
      pools: [
        { pool: 'system', total: 1, ready: 1, cordoned: 0 },
        { pool: 'workers', total: 3, ready: 2, cordoned: 1 },
      ],
    });
    assert.deepEqual(
      report.workloads.map((w) => [w.kind, w.name]),
      [
        ['Deployment', 'workers'],
        ['Job', 'workers-run-1'],
      ],
    );
  });

  it("reads a Job's state from its conditions", () => {
    const failed = jobView({
      ...job,
      status: {
        ...job.status,
        conditions: [
          { type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message: 'Container worker exited with 2' },
        ],
      },
    });
    assert.equal(failed.state, 'failed');
    assert.equal(failed.reason, 'PodFailurePolicy: Container worker exited with 2');
    const complete = jobView({ ...job, status: { succeeded: 6, conditions: [{ type: 'Complete', status: 'True' }] } });
    assert.equal(complete.state, 'complete');
    assert.equal(jobView(job).state, 'running');
  });
});

describe('status --cluster: rendering', () => {
  it('renders the workload, the pods with their reasons and the nodes', () => {
    const report = summariseCluster(target, { jobs: [job], deployments: [], pods, nodes }, at);
    const lines = renderCluster(report);
    assert.equal(
      lines[0],
      'cluster     https://34.118.2.10 (context gke_my-project_us-central1_gke-batch-dev, namespace batch-workers, ' +
        'pods -l app.kubernetes.io/name=gke-batch-worker)',
    );
    assert.equal(
      lines[1],
      'job         workers-run-1: running, 4 active (1 ready), 1 succeeded, 1 failed; parallelism 6',
    );
    assert.equal(lines[2], 'pods        6: 2 Pending, 2 Running, 1 Succeeded, 1 Failed; restarts 4, 1 OOMKilled');
    assert.equal(
      lines[3],
      '            1 Unschedulable, 1 ImagePullBackOff, 1 OOMKilled, 1 CrashLoopBackOff; ' +
        'failed with 1 exit 137 (SIGKILL: memory limit, or no exit within the grace period)',
    );
    assert.match(lines[4]!, /^ {2}workers-run-1-ddddd +Failed +OOMKilled, exit 137 \(SIGKILL/);
    assert.match(
      lines[5]!,
      /^ {2}workers-run-1-bbbbb +Pending +Unschedulable: 0\/3 nodes are available: 3 Insufficient cpu/,
    );
    assert.match(lines[6]!, /ImagePullBackOff: Back-off pulling image/);
    assert.match(lines[7]!, /Running +CrashLoopBackOff, exit 2 \(bad configuration\), 4 restarts: back-off 1m20s/);
    assert.equal(
      lines[8],
      'nodes       4: 3 Ready, 1 not ready, 1 cordoned; by pool: system 1 (1 Ready), workers 3 (2 Ready, 1 cordoned)',
    );
    assert.equal(lines.length, 9);
    assert.ok(
      lines.every((line) => line.length <= 200),
      lines.join('\n'),
    );
  });

  it('says where to look when more pods are in trouble than it lists', () => {
    const many = Array.from({ length: 8 }, (_, i) =>
      workerPod(`workers-run-1-p${i}`, unschedulable.status, { nodeName: undefined }),
    );
    const lines = renderCluster(summariseCluster(target, { jobs: [job], deployments: [], pods: many, nodes }, at));
    assert.equal(lines.filter((line) => line.includes('Unschedulable:')).length, 5);
    assert.ok(
      lines.includes('  … 3 more: kubectl -n batch-workers get pods -l app.kubernetes.io/name=gke-batch-worker'),
      lines.join('\n'),
    );
  });

  it('renders a Deployment and an empty namespace', () => {
    const deployment: V1Deployment = {
      metadata: { name: 'workers' },
      spec: { replicas: 5, selector: {}, template: {} },
      status: { replicas: 5, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 5 },
    };
    const lines = renderCluster(
      summariseCluster(target, { jobs: [], deployments: [deployment], pods: [], nodes: [] }, at),
    );
    assert.equal(lines[1], 'deployment  workers: 3 of 5 replicas ready (5 current, 5 updated, 3 available)');
    assert.equal(lines[2], 'pods        none');
    assert.equal(lines[3], 'nodes       none (a pool at 0 nodes grows when pods wait for one)');
  });

  it('one plain line per watch sample', () => {
    const report = summariseCluster(target, { jobs: [job], deployments: [], pods, nodes }, at);
    assert.equal(
      renderClusterWatchLine(report),
      'cluster job=workers-run-1 state=running active=4 succeeded=1 failed=1 pods=6 Pending=2 Running=2 ' +
        'Succeeded=1 Failed=1 Unschedulable=1 ImagePullBackOff=1 OOMKilled=1 CrashLoopBackOff=1 restarts=4 nodes=4 ' +
        'nodesReady=3 cordoned=1',
    );
  });

  it('an unreachable API is one line naming the server and the fix', () => {
    const problem = explainClusterError(
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect ECONNREFUSED 34.118.2.10:443'), { code: 'ECONNREFUSED' }),
      }),
      { timeoutSeconds: 10 },
    );
    const line = renderUnreachable({ ...target, reachable: false, time: '', ...problem });
    assert.match(line, /^cluster {5}cannot reach the Kubernetes API at https:\/\/34\.118\.2\.10: connect ECONNREFUSED/);
    assert.match(line, /pulumi stack output kubeconfig --show-secrets > kubeconfig\.json/);
    assert.equal(line.split('\n').length, 1);
  });
});

describe('status --cluster: why the API could not be read', () => {
  const context = { timeoutSeconds: 7, execCommand: 'gke-gcloud-auth-plugin' };

  it('no kubeconfig: how to write the stack one', () => {
    const { problem, fix } = explainClusterError(new KubeconfigMissingError(['/home/me/.kube/config']), context);
    assert.equal(problem, 'no kubeconfig at /home/me/.kube/config');
    assert.match(fix, /pulumi stack output kubeconfig --show-secrets > kubeconfig\.json, then pass --kubeconfig/);
  });

  it('a timeout names the wait and the authorized networks', () => {
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    const { problem, fix } = explainClusterError(timeout, context);
    assert.equal(problem, 'no answer within 7 s');
    assert.match(fix, /authorizedNetworks/);
  });

  it('a missing auth plugin says to install it', () => {
    const enoent = Object.assign(new Error('spawn gke-gcloud-auth-plugin ENOENT'), {
      code: 'ENOENT',
      path: 'gke-gcloud-auth-plugin',
    });
    const { problem, fix } = explainClusterError(new CredentialsError('gke-gcloud-auth-plugin', enoent), context);
    assert.match(problem, /runs gke-gcloud-auth-plugin for credentials, which is not installed/);
    assert.match(fix, /gcloud components install gke-gcloud-auth-plugin/);
  });

  it('HTTP 401 and 403 from the API server', () => {
    const rejected = Object.assign(new Error('HTTP-Code: 401'), { code: 401, body: undefined });
    assert.match(explainClusterError(rejected, context).fix, /gcloud auth application-default login/);
    const forbidden = Object.assign(new Error('HTTP-Code: 403'), {
      code: 403,
      body: JSON.stringify({ kind: 'Status', message: 'nodes is forbidden: User "me" cannot list resource "nodes"' }),
    });
    const { problem, fix } = explainClusterError(forbidden, context);
    assert.equal(problem, 'forbidden (HTTP 403: nodes is forbidden: User "me" cannot list resource "nodes")');
    assert.match(fix, /roles\/container\.viewer/);
  });

  it('a certificate that is not the kubeconfig CA: an earlier cluster', () => {
    const tls = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('self-signed certificate in certificate chain'), {
        code: 'SELF_SIGNED_CERT_IN_CHAIN',
      }),
    });
    assert.match(explainClusterError(tls, context).fix, /earlier cluster/);
  });
});

describe('status --cluster: which kubeconfig', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-'));
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  writeFileSync(a, '{}');
  writeFileSync(b, '{}');

  it('--kubeconfig first, then KUBECONFIG (missing files skipped, as kubectl does), then ~/.kube/config', () => {
    assert.deepEqual(kubeconfigFiles({ kubeconfig: a, env: { KUBECONFIG: b } }), [a]);
    const list = [a, path.join(dir, 'missing'), b].join(path.delimiter);
    assert.deepEqual(kubeconfigFiles({ env: { KUBECONFIG: list }, home: dir }), [a, b]);
    assert.throws(() => kubeconfigFiles({ env: {}, home: dir }), {
      name: 'KubeconfigMissingError',
      message: `no kubeconfig at ${path.join(dir, '.kube', 'config')}`,
    });
  });
});
