/**
 * Both scaling modes through the real program (index.ts) under Pulumi's unit-test mocks: the
 * drain Job, KEDA and the scaled Deployment, spot pools and their taints.
 */
import assert from 'node:assert/strict';
import { EXIT_WHEN_EMPTY_ENV } from '../infra/plan/drainJob';
import { Keda, SqsQueueScaler } from '../infra/components/keda';
import { KEDA_CHART_REPO, KEDA_CHART_VERSION } from '../infra/plan/defaults';
import { SPOT_TAINT } from '../infra/plan/pools';
import { Workers } from '../infra/components/workers';
import { ofType, onlyOne, ProgramRun, succeeded } from './support/pulumiProgram';
import { runDev } from './support/devStack';

const T = {
  job: 'kubernetes:batch/v1:Job',
  deployment: 'kubernetes:apps/v1:Deployment',
  release: 'kubernetes:helm.sh/v3:Release',
  scaledObject: 'kubernetes:keda.sh/v1alpha1:ScaledObject',
  triggerAuth: 'kubernetes:keda.sh/v1alpha1:TriggerAuthentication',
  nodePool: 'gcp:container/nodePool:NodePool',
} as const;
const DEV_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/gke-batch-dev';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON
type Json = Record<string, any>;

function only(result: ProgramRun, type: string): Json {
  return onlyOne(result, type).inputs;
}

describe('infra program: drain mode (the dev stack)', () => {
  let dev: ProgramRun;
  before(async () => {
    dev = succeeded(await runDev());
  });

  it("runs the workers as a work-queue Job on the workers' pool, and nothing of KEDA", () => {
    const job = only(dev, T.job);
    assert.equal(job.metadata.name, 'workers-run-1');
    assert.equal(job.metadata.namespace, 'batch-workers');
    assert.equal(job.spec.parallelism, 30);
    assert.equal(job.spec.completions, undefined);
    // max(6, 2 × 30 workers) + 2 poison tasks × 5 attempts: two OOM-ing tasks never abort the batch.
    assert.equal(job.spec.backoffLimit, 70);
    const pod = job.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.equal(pod.terminationGracePeriodSeconds, 20, 'workers.graceSeconds 10 + the release margin');
    assert.deepEqual(pod.nodeSelector, { 'cloud.google.com/gke-nodepool': 'workers' });
    assert.ok((pod.containers[0].env as Json[]).some((e) => e.name === EXIT_WHEN_EMPTY_ENV && e.value === '1'));
    assert.equal(ofType(dev, T.job)[0].parentType, 'gke-batch:infra:Workers');
    for (const type of [T.deployment, T.release, T.scaledObject, T.triggerAuth])
      assert.equal(ofType(dev, type).length, 0, type);
  });

  it('prints the mode, the workers, their nodes and the cost at full scale, and exports them', () => {
    const scaling = dev.outputs.scaling as Json;
    assert.equal(scaling.mode, 'drain');
    assert.equal(scaling.maxWorkers, 30);
    assert.equal(scaling.workerNodesAtFullScale, 10);
    assert.equal(scaling.job, 'workers-run-1');
    assert.ok(
      scaling.estimatedUsdPerHourAtFullScale > 0.3 && scaling.estimatedUsdPerHourAtFullScale < 1.5,
      String(scaling.estimatedUsdPerHourAtFullScale),
    );
    assert.match(
      scaling.summary,
      new RegExp(
        String.raw`^scaling: drain, up to 30 workers on 10 × e2-standard-4` +
          String.raw` spot nodes \(3 per node\); ≈ \$0\.\d+\/h at full scale: `,
      ),
    );
    assert.ok(dev.logs.info.includes(scaling.summary), 'the summary is logged at preview');
    assert.ok((dev.outputs.watch as string[]).includes('kubectl -n batch-workers get job workers-run-1 --watch'));
  });

  it('starts a new run under a new name, with the workers and backoff limit from the scaling section', async () => {
    const result = succeeded(
      await runDev((v) => {
        Object.assign(v.scaling, { run: 2, maxWorkers: 12, backoffLimit: 3 });
      }),
    );
    const job = only(result, T.job);
    assert.equal(job.metadata.name, 'workers-run-2');
    assert.equal(job.metadata.labels['gke-batch/run'], '2');
    assert.equal(job.spec.parallelism, 12);
    assert.equal(job.spec.backoffLimit, 3);
    assert.equal((result.outputs.scaling as Json).workerNodesAtFullScale, 4);
    assert.equal(result.outputs.workerCount, 12);
  });

  it("says plainly when the workers' machine type has no price", async () => {
    const result = succeeded(
      await runDev((v) => {
        Object.assign(v.pools[1], { machineType: 'g2-standard-8', gpu: { type: 'nvidia-l4', count: 1 }, maxNodes: 2 });
        Object.assign(v.workers, { cpu: '4', memory: '16Gi' });
      }),
    );
    const scaling = result.outputs.scaling as Json;
    assert.equal(scaling.estimatedUsdPerHourAtFullScale, null);
    assert.equal(scaling.estimateBasis, 'no estimate: no price for machine type g2-standard-8 (pool workers)');
    assert.match(scaling.summary, /no cost estimate: no price for machine type g2-standard-8 \(pool workers\)$/);
  });
});

describe('infra program: continuous mode', () => {
  let result: ProgramRun;
  before(async () => {
    result = succeeded(
      await runDev((v) => {
        v['gke-batch:queueUrl'] = DEV_QUEUE_URL;
        Object.assign(v.scaling, { mode: 'continuous', queueLength: 4, maxWorkers: 20 });
      }),
    );
  });

  it('creates the worker Deployment with no replicas and no Job: KEDA sets the count', () => {
    const deployment = only(result, T.deployment);
    assert.equal(deployment.metadata.name, 'workers');
    assert.equal(deployment.spec.replicas, 0);
    assert.equal(ofType(result, T.job).length, 0);
    const env = deployment.spec.template.spec.containers[0].env as Json[];
    assert.ok(!env.some((e) => e.name === EXIT_WHEN_EMPTY_ENV), 'continuous workers wait for new tasks');
  });

  it('installs the pinned KEDA chart into the keda namespace, on the always-on system pool', () => {
    const release = only(result, T.release);
    assert.equal(release.chart, 'keda');
    assert.equal(release.version, KEDA_CHART_VERSION);
    assert.equal(release.repositoryOpts.repo, KEDA_CHART_REPO);
    assert.equal(release.namespace, 'keda');
    assert.deepEqual(release.values.nodeSelector, { 'cloud.google.com/gke-nodepool': 'system' });
    assert.equal(ofType(result, 'gke-batch:scaling:Keda')[0].parentType, 'gke-batch:infra:Workers');
    assert.equal(ofType(result, T.release)[0].parentType, 'gke-batch:scaling:Keda');
  });

  it(
    "scales the Deployment on the queue with the workers' own AWS Secret, in-flight tasks counted, 0 to " +
      'maxWorkers',
    () => {
      const scaled = only(result, T.scaledObject);
      assert.equal(scaled.metadata.namespace, 'batch-workers');
      assert.deepEqual(scaled.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'workers' });
      assert.equal(scaled.spec.minReplicaCount, 0);
      assert.equal(scaled.spec.maxReplicaCount, 20);
      assert.equal(scaled.spec.cooldownPeriod, 300);
      assert.deepEqual(scaled.spec.triggers[0].metadata, {
        queueURL: DEV_QUEUE_URL,
        awsRegion: 'us-east-1',
        queueLength: '4',
        scaleOnInFlight: 'true',
      });
      const auth = only(result, T.triggerAuth);
      assert.equal(scaled.spec.triggers[0].authenticationRef.name, auth.metadata.name);
      assert.deepEqual(
        (auth.spec.secretTargetRef as Json[]).map((ref) => `${ref.parameter}=${ref.name}/${ref.key}`),
        [
          'awsAccessKeyID=aws-credentials/AWS_ACCESS_KEY_ID',
          'awsSecretAccessKey=aws-credentials/AWS_SECRET_ACCESS_KEY',
        ],
      );
      assert.equal(ofType(result, T.scaledObject)[0].parentType, 'gke-batch:scaling:SqsQueueScaler');
    },
  );

  it('declares a Deployment the Kubernetes API schema accepts', async () => {
    const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
    const deployment = new Deployment(
      only(result, T.deployment) as ConstructorParameters<typeof Deployment>[0],
    ) as unknown as { validate(): void };
    assert.doesNotThrow(() => deployment.validate());
  });

  it('exports the mode and the commands to watch KEDA scale', () => {
    const scaling = result.outputs.scaling as Json;
    assert.deepEqual(
      [scaling.mode, scaling.maxWorkers, scaling.workerNodesAtFullScale, scaling.queueLength],
      ['continuous', 20, 7, 4],
    );
    assert.match(scaling.summary, /^scaling: continuous, up to 20 workers on 7 × e2-standard-4 spot nodes/);
    assert.ok((result.outputs.watch as string[]).includes('kubectl -n batch-workers get hpa keda-hpa-workers --watch'));
  });

  it('refuses sqs://NAME (KEDA needs the account) before declaring anything', async () => {
    const failed = await runDev((v) => (v.scaling.mode = 'continuous'));
    assert.equal(failed.resources.length, 0);
    assert.match(
      failed.error?.message ?? '',
      new RegExp(
        String.raw`scaling\.mode continuous: KEDA reads the queue's length and needs its full` +
          String.raw` AWS URL \(with region and account\), but queueUrl is sqs:\/\/gke-batch-dev`,
      ),
    );
  });
});

describe('infra program: spot pools, taints and placement', () => {
  it("gives a spot pool without a NoSchedule taint GKE's spot taint, which the workers tolerate", async () => {
    const result = succeeded(
      await runDev((v) => {
        v.pools.push({ name: 'cheap', machineType: 'n2d-standard-8', minNodes: 0, maxNodes: 4, spot: true });
        Object.assign(v.workers, { nodePool: 'cheap' });
      }),
    );
    const taints = Object.fromEntries(
      ofType(result, T.nodePool).map((p) => [p.inputs.name, p.inputs.nodeConfig.taints]),
    );
    assert.deepEqual(taints.cheap, [{ key: SPOT_TAINT.key, value: 'true', effect: 'NO_SCHEDULE' }]);
    assert.deepEqual(taints.system, [], 'the system pool keeps taking system pods');
    assert.deepEqual(
      taints.workers,
      [{ key: 'gke-batch/workers', value: 'true', effect: 'NO_SCHEDULE' }],
      'a pool that already keeps pods out gets nothing more',
    );
    const pod = only(result, T.job).spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { 'cloud.google.com/gke-nodepool': 'cheap' });
    assert.deepEqual(pod.tolerations, [
      { key: SPOT_TAINT.key, operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    ]);
  });

  it("an on-demand pool stays untainted; an untainted workers' pool is warned about", async () => {
    const result = succeeded(
      await runDev((v) => {
        Object.assign(v.pools[1], { spot: false, taints: [] });
      }),
    );
    const workersPool = ofType(result, T.nodePool).find((p) => p.inputs.name === 'workers');
    assert.deepEqual(workersPool?.inputs.nodeConfig.taints, []);
    assert.deepEqual(only(result, T.job).spec.template.spec.tolerations, []);
    assert.ok(
      result.logs.warn.some((w) => /nodePools\[1\] workers: the workers' pool has no NoSchedule taint/.test(w)),
      result.logs.warn.join('\n'),
    );
  });

  it('refuses a cluster whose only pool is spot: system pods would have no node', async () => {
    const result = await runDev((v) => {
      v['gke-batch:nodePools'] = [{ name: 'workers', machineType: 'e2-standard-4', minNodes: 0, maxNodes: 5 }];
    });
    assert.equal(result.resources.length, 0);
    assert.match(
      result.error?.message ?? '',
      /every pool is tainted \(spot pools get GKE's spot taint\) or has maxNodes 0/,
    );
  });

  it('reports bad scaling settings, each with its key, value and fix, all at once', async () => {
    const result = await runDev((v) => {
      Object.assign(v.scaling, {
        mode: 'burst',
        kedaChartVersion: '^2.20',
        backoffLimit: -1,
        kedaChartRepo: 'oci://charts.example.invalid/keda',
      });
    });
    assert.equal(result.resources.length, 0);
    const message = result.error?.message ?? '';
    assert.match(message, /the stack config has 4 problems/);
    assert.match(
      message,
      new RegExp(
        String.raw`scaling\.kedaChartRepo oci:\/\/charts\.example\.invalid\/keda:` +
          String.raw` must be the https:\/\/ URL of a Helm chart repository`,
      ),
    );
    assert.match(message, /scaling\.mode burst: must be drain or continuous/);
    assert.match(
      message,
      /scaling\.kedaChartVersion \^2\.20: must be an exact chart version such as 2\.20\.2, not a range/,
    );
    assert.match(message, /scaling\.backoffLimit -1: must be at least 0 crashes/);
    const tooMany = await runDev((v) => Object.assign(v.scaling, { maxWorkers: 31, run: 'Next_Run' }));
    assert.match(
      tooMany.error?.message ?? '',
      new RegExp(
        String.raw`scaling\.maxWorkers 31: pool workers holds at most 30 workers` +
          String.raw` \(3\/node × 10 nodes\); raise nodePools\[1\]\.maxNodes to 11`,
      ),
    );
    assert.match(tooMany.error?.message ?? '', /scaling\.run Next_Run: must be lowercase letters/);
  });
});
