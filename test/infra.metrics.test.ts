/**
 * The workers' /metrics in GKE's managed Prometheus: the Pulumi program (index.ts) under Pulumi's
 * unit-test mocks declares a PodMonitoring through the cluster's Kubernetes provider, on the port
 * the workers serve /metrics at, keeping every series the worker registers; and turns managed
 * collection on for the cluster. With managedPrometheus false: neither.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { WORKER_HEALTH_PORT } from '../infra/plan/defaults';
import { KEPT_METRICS, POD_MONITORING_API_VERSION } from '../infra/plan/podMonitoring';
import { SETTINGS } from '../lib/settings/table';
import { APP_NAME_LABEL } from '../lib/workerPods';
import { workerMetrics } from '../worker/metrics';
import type { Worker } from '../worker/worker';
import { runDev } from './support/devStack';
import type { Inputs, ProgramRun } from './support/pulumiProgram';

const T = {
  podMonitoring: `kubernetes:${POD_MONITORING_API_VERSION}:PodMonitoring`,
  cluster: 'gcp:container/cluster:Cluster',
  job: 'kubernetes:batch/v1:Job',
  k8sProvider: 'pulumi:providers:kubernetes',
} as const;

function ofType(result: ProgramRun, type: string) {
  assert.equal(result.error, undefined, `the program failed: ${result.error?.message}`);
  return result.resources.filter((r) => r.type === type);
}

describe('infra program: worker metrics in managed Prometheus', () => {
  let dev: ProgramRun;
  before(async () => {
    dev = await runDev();
  });

  it('turns on managed collection on the cluster', () => {
    const [cluster] = ofType(dev, T.cluster);
    assert.deepEqual(cluster!.inputs.monitoringConfig, { managedPrometheus: { enabled: true } });
  });

  it("declares a PodMonitoring selecting the worker pods, through the cluster's Kubernetes provider", () => {
    const found = ofType(dev, T.podMonitoring);
    assert.equal(found.length, 1);
    const monitoring = found[0]!;
    assert.equal(monitoring.parentType, 'gke-batch:infra:WorkerMetrics');
    const [provider] = ofType(dev, T.k8sProvider);
    assert.ok(monitoring.options.provider.startsWith(`${provider!.options.urn}::`), monitoring.options.provider);
    const inputs = monitoring.inputs;
    assert.equal(inputs.apiVersion, 'monitoring.googleapis.com/v1');
    assert.equal(inputs.kind, 'PodMonitoring');
    assert.equal(inputs.metadata.name, 'workers');
    assert.equal(inputs.metadata.namespace, 'batch-workers');
    assert.deepEqual(inputs.spec.selector, { matchLabels: { 'app.kubernetes.io/name': APP_NAME_LABEL } });
    // The selector matches the pods the Job runs.
    const [job] = ofType(dev, T.job);
    const podLabels = job!.inputs.spec.template.metadata.labels as Record<string, string>;
    for (const [key, value] of Object.entries(inputs.spec.selector.matchLabels as Record<string, string>)) {
      assert.equal(podLabels[key], value, `pod label ${key}`);
    }
  });

  it('scrapes /metrics on the port the workers serve it at (their metrics-port setting)', () => {
    const [endpoint, ...more] = ofType(dev, T.podMonitoring)[0]!.inputs.spec.endpoints as Inputs[];
    assert.equal(more.length, 0);
    assert.equal(endpoint!.port, WORKER_HEALTH_PORT);
    assert.equal(endpoint!.path, '/metrics');
    assert.equal(endpoint!.interval, '60s');
    const [job] = ofType(dev, T.job);
    const container = job!.inputs.spec.template.spec.containers[0] as Inputs;
    const env = container.env as { name: string; value?: string }[];
    assert.equal(env.find((v) => v.name === SETTINGS.metricsPort.env)?.value, String(endpoint!.port));
    assert.ok((container.ports as Inputs[]).some((p) => p.containerPort === endpoint!.port));
  });

  it('keeps every series the worker registers, and the process CPU and memory, but not the Node.js extras', () => {
    const [endpoint] = ofType(dev, T.podMonitoring)[0]!.inputs.spec.endpoints as Inputs[];
    assert.deepEqual(endpoint!.metricRelabeling, [{ action: 'keep', sourceLabels: ['__name__'], regex: KEPT_METRICS }]);
    // Prometheus anchors relabeling regexes at both ends.
    const kept = new RegExp(`^(?:${KEPT_METRICS})$`);
    // workerMetrics only subscribes to the worker's events and reads inFlight: an emitter stands in for it.
    const worker = Object.assign(new EventEmitter(), { inFlight: 0 }) as unknown as Worker;
    const names = workerMetrics(worker)
      .getMetricsAsArray()
      .map((metric) => metric.name);
    for (const name of names.filter((n) => n.startsWith('worker_'))) assert.match(name, kept);
    assert.ok(names.includes('worker_tasks_succeeded_total'));
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes']) assert.match(name, kept);
    assert.doesNotMatch('nodejs_eventloop_lag_seconds', kept);
  });

  it('with managedPrometheus false: no PodMonitoring, managed collection off', async () => {
    const off = await runDev((config) => (config['gke-batch:managedPrometheus'] = 'false'));
    assert.equal(ofType(off, T.podMonitoring).length, 0);
    const [cluster] = ofType(off, T.cluster);
    assert.deepEqual(cluster!.inputs.monitoringConfig, { managedPrometheus: { enabled: false } });
  });

  it('with existingCluster: none unless asked for (that cluster may not run managed collection)', async () => {
    const existing = (managedPrometheus?: string) =>
      runDev((config) => {
        config['gke-batch:existingCluster'] = { kubeconfig: 'apiVersion: v1\nkind: Config\nclusters: []\n' };
        config.image.existing = `registry.example.com/team/worker@sha256:${'cd34'.repeat(16)}`;
        config['gke-batch:cloudpath'] = 's3://outputs/run';
        if (managedPrometheus) config['gke-batch:managedPrometheus'] = managedPrometheus;
      });
    assert.equal(ofType(await existing(), T.podMonitoring).length, 0);
    const asked = ofType(await existing('true'), T.podMonitoring);
    assert.equal(asked.length, 1);
    assert.equal(asked[0]!.inputs.metadata.namespace, 'batch-workers');
  });
});
