/**
 * Scaling: the drain-mode Job (pure manifest, validated against the Kubernetes schema offline),
 * the continuous-mode KEDA install and scaler, the full-scale cost, declared under Pulumi's
 * unit-test mocks; then both modes through the real program (index.ts). Resource options
 * (ignoreChanges, deleteBeforeReplace, dependsOn) never reach the mocks, so a transformation on a
 * test parent records them.
 */
import assert from 'node:assert/strict';
import * as k8s from '@pulumi/kubernetes';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { createDrainJob } from '../infra/components/drainJob';
import { parseQueueUrl } from '../lib/urls/queue';
import {
  DrainJobArgs,
  drainJobManifest,
  drainJobName,
  EXIT_WHEN_EMPTY_ENV,
  runIdProblem,
  terminationGraceSeconds,
} from '../infra/plan/drainJob';
import { Keda, kedaOwnedDeploymentOptions, SqsQueueScaler } from '../infra/components/keda';
import { KEDA_CHART_REPO, KEDA_CHART_VERSION, KEDA_INITIAL_REPLICAS } from '../infra/plan/defaults';
import { checkScalerArgs, parseSqsQueueUrl } from '../infra/plan/keda';
import { machinePrice } from '../infra/plan/pricing';
import { SPOT_TAINT } from '../infra/plan/pools';
import { validateStackConfig } from '../infra/plan/validate';
import { Workers } from '../infra/components/workers';
import { DeclaredResource, PROJECT_DIR, ProgramRun, readStackFile, runProgram } from './support/pulumiProgram';
import { estimateFullScaleCost, FullScaleInput, PoolToPrice, scalingSummary, workerNodesFor } from '../infra/plan/cost';
import { checkScaling, ScalingContext, ScalingInput } from '../infra/plan/scaling';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/primes';

function podTemplate(): DrainJobArgs['pod'] {
  return {
    labels: { 'app.kubernetes.io/name': 'gke-batch-worker' },
    annotations: { 'example.com/owner': 'batch' },
    workerContainer: 'worker',
    spec: {
      serviceAccountName: 'worker',
      nodeSelector: { 'gke-batch/pool': 'workers' },
      tolerations: [{ key: 'gke-batch/workers', operator: 'Equal', value: 'true', effect: 'NoSchedule' }],
      containers: [
        {
          name: 'worker',
          image: 'us-docker.pkg.dev/p/r/worker@sha256:' + 'a'.repeat(64),
          env: [
            { name: 'TASKQUEUE_PATH', value: QUEUE_URL },
            { name: EXIT_WHEN_EMPTY_ENV, value: '0' },
            { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'aws', key: 'AWS_ACCESS_KEY_ID' } } },
          ],
          resources: { requests: { cpu: '1', memory: '3Gi' }, limits: { memory: '3Gi' } },
        },
        { name: 'sidecar', image: 'busybox@sha256:' + 'b'.repeat(64) },
      ],
    },
  };
}

function drainArgs(overrides: Partial<DrainJobArgs> = {}): DrainJobArgs {
  return {
    namespace: 'batch',
    baseName: 'workers',
    runId: '7',
    parallelism: 12,
    backoffLimit: 4,
    graceSeconds: 20,
    pod: podTemplate(),
    ...overrides,
  };
}

/**
 * The manifest as plain JSON. Built from plain arguments (no Outputs), it is one; the cast only
 * trades Pulumi's Input<> types for the Kubernetes schema's types.
 */
function plainJob(args: DrainJobArgs): Omit<IJob, 'apiVersion' | 'kind'> {
  return drainJobManifest(args) as unknown as Omit<IJob, 'apiVersion' | 'kind'>;
}

describe('infra/drainJob: the drain-mode Job', () => {
  it('is a work-queue Job: parallelism workers, no completions, the configured backoff limit', () => {
    const job = plainJob(drainArgs());
    assert.equal(job.metadata?.name, 'workers-run-7');
    assert.equal(job.spec?.parallelism, 12);
    assert.equal(job.spec?.backoffLimit, 4);
    assert.ok(!('completions' in (job.spec ?? {})), 'completions must be unset for the work-queue pattern');
    assert.ok(!('completionMode' in (job.spec ?? {})));
  });

  it('never restarts in place, ignores node disruptions, and outlives the worker grace on shutdown', () => {
    const spec = plainJob(drainArgs({ graceSeconds: 45 })).spec!;
    const pod = spec.template;
    assert.equal(pod.spec?.restartPolicy, 'Never');
    assert.equal(pod.spec?.terminationGracePeriodSeconds, 55);
    assert.equal(terminationGraceSeconds(45), 55);
    assert.deepEqual(spec.podFailurePolicy, {
      rules: [
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
        { action: 'Ignore', onExitCodes: { containerName: 'worker', operator: 'In', values: [3] } },
        { action: 'FailJob', onExitCodes: { containerName: 'worker', operator: 'In', values: [2] } },
      ],
    });
    assert.equal(spec.podReplacementPolicy, 'Failed');
    assert.equal(pod.metadata?.annotations?.['cluster-autoscaler.kubernetes.io/safe-to-evict'], 'false');
    assert.equal(pod.metadata?.annotations?.['example.com/owner'], 'batch');
  });

  it('tells only the worker container to exit when the queue is empty, replacing any earlier value', () => {
    const containers = plainJob(drainArgs()).spec!.template.spec!.containers;
    const env = (name: string) => containers.find((c) => c.name === name)?.env ?? [];
    assert.deepEqual(
      env('worker').filter((v) => v.name === EXIT_WHEN_EMPTY_ENV),
      [{ name: EXIT_WHEN_EMPTY_ENV, value: '1' }],
    );
    assert.deepEqual(
      env('worker').map((v) => v.name),
      ['TASKQUEUE_PATH', 'AWS_ACCESS_KEY_ID', EXIT_WHEN_EMPTY_ENV],
      'the other variables are kept',
    );
    assert.deepEqual(env('sidecar'), []);
    // The caller's template is not modified.
    assert.equal(podTemplate().spec.containers[0].env?.[1].value, '0');
  });

  it('keeps a finished Job (no TTL: a refresh + up must not start a run by itself), and Pulumi does not wait for the batch', () => {
    const job = plainJob(drainArgs());
    assert.equal(job.spec?.ttlSecondsAfterFinished, undefined);
    assert.equal(plainJob(drainArgs({ ttlSecondsAfterFinished: 600 })).spec?.ttlSecondsAfterFinished, 600);
    assert.equal(job.metadata?.annotations?.['pulumi.com/skipAwait'], 'true');
    assert.equal(
      job.metadata?.annotations?.['pulumi.com/deletionPropagationPolicy'],
      'background',
      'a same-name replacement must not wait for the old pods',
    );
    assert.equal(job.metadata?.labels?.['gke-batch/run'], '7');
  });

  it('passes the Kubernetes batch/v1 schema', async () => {
    // kubernetes-models is ESM-only: a dynamic import loads it from this CommonJS test.
    const { Job } = await import('kubernetes-models/batch/v1/Job');
    // `validate` comes from @kubernetes-models/base, whose types this project's (node10) module
    // resolution cannot see; its runtime is there.
    type Validated = InstanceType<typeof Job> & { validate(): void };
    const job = new Job(plainJob(drainArgs())) as Validated;
    job.validate();
    assert.equal(job.kind, 'Job');
    // The validation is real: a string where a number belongs fails it.
    const broken = new Job({
      ...plainJob(drainArgs()),
      spec: { ...plainJob(drainArgs()).spec!, parallelism: 'twelve' as unknown as number },
    }) as Validated;
    assert.throws(() => broken.validate(), /parallelism/);
  });

  it('reports every bad argument at once', () => {
    assert.throws(
      () =>
        drainJobManifest(
          drainArgs({
            runId: 'Run_2',
            parallelism: 0,
            backoffLimit: -1,
            pod: { ...podTemplate(), workerContainer: 'app' },
          }),
        ),
      (error: Error) =>
        /run id "Run_2" must be lowercase/.test(error.message) &&
        /parallelism must be a whole number ≥ 1, got 0/.test(error.message) &&
        /backoffLimit must be a whole number ≥ 0, got -1/.test(error.message) &&
        /no container named app/.test(error.message),
    );
  });

  it('accepts run ids that make a valid Job name and explains the ones that do not', () => {
    assert.equal(drainJobName('workers', '2026-05-01'), 'workers-run-2026-05-01');
    for (const ok of ['1', '42', '2026-05-01', 'a', 'rerun-3'])
      assert.equal(runIdProblem('workers', ok), undefined, ok);
    for (const bad of ['', '-1', '1-', 'A', 'run 2', 'x.y'])
      assert.match(runIdProblem('workers', bad) ?? '', /lowercase letters/, bad);
    const long = 'x'.repeat(60);
    assert.match(
      runIdProblem('workers', long) ?? '',
      /72 characters long; Kubernetes allows 63: use at most 51 characters/,
    );
    assert.equal(runIdProblem('workers', 'x'.repeat(51)), undefined);
    assert.match(runIdProblem('workers', 'x'.repeat(52)) ?? '', /use at most 51/);
  });
});

describe('infra/keda: queue URL and scaler arguments', () => {
  it('reads region, account and name from SQS queue URLs', () => {
    assert.deepEqual(parseSqsQueueUrl(QUEUE_URL), {
      url: QUEUE_URL,
      region: 'eu-west-1',
      accountId: '123456789012',
      name: 'primes',
    });
    // The legacy host, as the workers accept it (lib/urls' one grammar).
    assert.deepEqual(parseSqsQueueUrl('https://us-east-2.queue.amazonaws.com/123456789012/jobs'), {
      url: 'https://us-east-2.queue.amazonaws.com/123456789012/jobs',
      region: 'us-east-2',
      accountId: '123456789012',
      name: 'jobs',
    });
    for (const bad of [
      'https://us-east-2.queue.amazonaws.com/123456789012/jobs.fifo',
      'sqs://primes',
      'fq://./local/queue',
      'https://sqs.eu-west-1.amazonaws.com/primes',
      'http://localhost:4566/000000000000/q',
    ]) {
      assert.equal(parseSqsQueueUrl(bad), undefined, bad);
    }
  });

  it('takes the region from the URL unless given, and lists every problem', () => {
    assert.equal(checkScalerArgs({ queueUrl: QUEUE_URL, maxReplicas: 5 }), 'eu-west-1');
    assert.equal(checkScalerArgs({ queueUrl: QUEUE_URL, maxReplicas: 5, awsRegion: 'eu-west-2' }), 'eu-west-2');
    assert.throws(
      () => checkScalerArgs({ queueUrl: 'sqs://primes', maxReplicas: 0, minReplicas: -1, queueLength: 0.5 }),
      (error: Error) =>
        /queue sqs:\/\/primes is not an AWS SQS queue URL KEDA can watch/.test(error.message) &&
        /minReplicas must be a whole number ≥ 0, got -1/.test(error.message) &&
        /maxReplicas must be a whole number ≥ 1, got 0/.test(error.message) &&
        /queueLength must be a whole number ≥ 1, got 0.5/.test(error.message),
    );
    assert.throws(
      () => checkScalerArgs({ queueUrl: QUEUE_URL, minReplicas: 4, maxReplicas: 3 }),
      /maxReplicas 3 is below minReplicas 4/,
    );
  });
});

describe('infra/scaling: full-scale nodes and cost', () => {
  const workers: PoolToPrice = {
    name: 'workers',
    machineType: 'e2-standard-4',
    spot: true,
    diskType: 'pd-balanced',
    diskSizeGb: 50,
    minNodes: 0,
    maxNodes: 10,
  };
  const system: PoolToPrice = {
    name: 'system',
    machineType: 'e2-standard-2',
    spot: false,
    diskType: 'pd-balanced',
    diskSizeGb: 50,
    minNodes: 1,
    maxNodes: 1,
  };
  const input = (overrides: Partial<FullScaleInput> = {}): FullScaleInput => ({
    mode: 'drain',
    maxWorkers: 30,
    workersPerNode: 3,
    workerPool: workers,
    otherPools: [system],
    ...overrides,
  });

  it('needs ceil(workers / per node) nodes, never more than the pool allows', () => {
    assert.equal(workerNodesFor(30, 3, 10), 10);
    assert.equal(workerNodesFor(31, 3, 20), 11);
    assert.equal(workerNodesFor(31, 3, 10), 10);
    assert.equal(workerNodesFor(1, 3, 10), 1);
    assert.equal(workerNodesFor(5, 0, 10), 0);
  });

  it('adds worker nodes with their disks, the other pools at their minimum, and the cluster fee', () => {
    const { cost, missing } = estimateFullScaleCost(input());
    assert.deepEqual(missing, []);
    assert.ok(cost);
    const workerNodes = 10 * machinePrice('e2-standard-4')!.spot + (10 * 50 * 0.1) / 730;
    const systemNode = machinePrice('e2-standard-2')!.onDemand + (50 * 0.1) / 730;
    assert.ok(Math.abs(cost.workerNodes - workerNodes) < 1e-6, `${cost.workerNodes} vs ${workerNodes}`);
    assert.ok(Math.abs(cost.otherPools - systemNode) < 1e-6);
    assert.ok(Math.abs(cost.total - (workerNodes + systemNode + 0.1)) < 1e-6);
    assert.deepEqual(cost.excluded, []);
  });

  it('prints the mode, the workers, the nodes and the estimate with its source', () => {
    const line = scalingSummary(input({ mode: 'continuous' }));
    assert.match(
      line,
      /^scaling: continuous, up to 30 workers on 10 × e2-standard-4 spot nodes \(3 per node\); ≈ \$0\.\d{3}\/h at full scale: /,
    );
    assert.match(
      line,
      /worker nodes \$0\.\d{3}\/h, other pools at their minimum \$0\.\d{3}\/h, GKE cluster fee \$0\.100\/h/,
    );
    assert.match(
      line,
      /\(us-central1 list prices as of \d{4}-\d{2}, approximate; Cloud NAT, egress, Artifact Registry storage and discounts not included\)$/,
    );
    const onDemand = scalingSummary(input({ workerPool: { ...workers, spot: false }, maxWorkers: 3 }));
    assert.match(onDemand, /up to 3 workers on 1 × e2-standard-4 node \(3 per node\)/);
  });

  it('says plainly when a machine type has no price', () => {
    const line = scalingSummary(
      input({ workerPool: { ...workers, machineType: 'g2-standard-8', gpu: { type: 'nvidia-l4', count: 1 } } }),
    );
    assert.match(line, /; no cost estimate: no price for machine type g2-standard-8 \(pool workers\)$/);
    const system2 = scalingSummary(input({ otherPools: [{ ...system, machineType: 'n4-standard-2' }] }));
    assert.match(system2, /no cost estimate: no price for machine type n4-standard-2 \(pool system\)$/);
  });

  it('names what the estimate leaves out: GPUs, disks without a flat price', () => {
    const line = scalingSummary(
      input({
        workerPool: {
          ...workers,
          machineType: 'n1-standard-8',
          gpu: { type: 'nvidia-tesla-t4', count: 1 },
          diskType: 'hyperdisk-balanced',
        },
      }),
    );
    assert.match(line, /discounts not included; hyperdisk-balanced disks and GPUs not included\)$/);
  });
});

describe('infra/scaling: checking the scaling section', () => {
  const section = (overrides: Partial<ScalingInput> = {}): ScalingInput => ({
    mode: 'drain',
    run: '1',
    backoffLimit: 6,
    cooldownSeconds: 300,
    kedaChartVersion: KEDA_CHART_VERSION,
    kedaChartRepo: KEDA_CHART_REPO,
    ...overrides,
  });
  const context: ScalingContext = {
    queue: parseQueueUrl(QUEUE_URL),
    queueUrl: QUEUE_URL,
    maxAttempts: 5,
    defaultWorkers: 30,
    capacity: 30,
    workersPerNode: 3,
    pool: { name: 'workers', maxNodes: 10, index: 1 },
    concurrency: 2,
    jobBaseName: 'workers',
  };
  const check = (input: ScalingInput, ctx: ScalingContext = context) => {
    const problems: string[] = [];
    return { scaling: checkScaling(input, ctx, problems), problems };
  };

  it('defaults the workers to workers.replicas and the queue length to the worker concurrency', () => {
    const { scaling, problems } = check(section());
    assert.deepEqual(problems, []);
    assert.equal(scaling?.maxWorkers, 30);
    assert.equal(scaling?.queueLength, 2);
    assert.equal(scaling?.workerNodes, 10);
    assert.equal(scaling?.jobName, 'workers-run-1');
    assert.equal(check(section({ maxWorkers: 7, queueLength: 5 })).scaling?.workerNodes, 3);
  });

  it('continuous mode reads the region and account from the queue URL, and refuses sqs://NAME', () => {
    assert.deepEqual(check(section({ mode: 'continuous' })).scaling?.queue, {
      url: QUEUE_URL,
      region: 'eu-west-1',
      accountId: '123456789012',
      name: 'primes',
    });
    const { scaling, problems } = check(section({ mode: 'continuous' }), {
      ...context,
      queueUrl: 'sqs://primes',
      queue: parseQueueUrl('sqs://primes'),
    });
    assert.equal(scaling, undefined);
    assert.deepEqual(problems, [
      "scaling.mode continuous: KEDA reads the queue's length and needs its full AWS URL (with region and account), but queueUrl is sqs://primes; " +
        'set queueUrl https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (npm run queue:create prints it), or use scaling.mode drain',
    ]);
    assert.deepEqual(
      check(section({ mode: 'drain' }), { ...context, queueUrl: 'sqs://primes', queue: parseQueueUrl('sqs://primes') })
        .problems,
      [],
    );
  });

  it('reports more workers than the pool holds, a zero worker count and a bad run id together', () => {
    const { problems } = check(section({ maxWorkers: 50, run: 'Run 2' }));
    assert.deepEqual(problems, [
      'scaling.maxWorkers 50: pool workers holds at most 30 workers (3/node × 10 nodes); raise nodePools[1].maxNodes to 17, or lower scaling.maxWorkers to 30',
      "scaling.run Run 2: must be lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. 2 or 2026-05-01)",
    ]);
    assert.deepEqual(check(section(), { ...context, defaultWorkers: 0 }).problems, [
      'scaling.maxWorkers 0 (from workers.replicas): no worker would ever run; set scaling.maxWorkers to 1 or more',
    ]);
    assert.deepEqual(
      check(section({ mode: 'continuous', run: 'Run 2' })).problems,
      [],
      'the run id only matters in drain mode',
    );
  });
});

interface Registered {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- mock inputs are untyped JSON
  readonly custom: boolean;
}

describe('scaling resources under Pulumi mocks', function () {
  const registered: Registered[] = [];
  const options = new Map<string, pulumi.ResourceOptions>();
  let parent: pulumi.ComponentResource;

  const promiseOf = <T>(output: pulumi.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));
  const find = (type: string, name: string) => {
    const found = registered.find((r) => r.type === type && r.name === name);
    assert.ok(
      found,
      `${type} ${name} was not registered; got ${registered.map((r) => `${r.type} ${r.name}`).join(', ')}`,
    );
    return found;
  };

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom ?? true });
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      'gke-batch',
      'scaling-test',
      false,
    );
    parent = new pulumi.ComponentResource(
      'test:index:Parent',
      'parent',
      {},
      {
        transformations: [
          ({ name, opts }) => {
            options.set(name, opts);
            return undefined;
          },
        ],
      },
    );
  });

  describe('drain mode', () => {
    it('declares the Job with its spec, replaced (old one first) when the run or the pod changes', async () => {
      const job = createDrainJob('drain', drainArgs(), { parent });
      await promiseOf(job.urn);
      const inputs = find('kubernetes:batch/v1:Job', 'drain').inputs;
      assert.equal(inputs.metadata.name, 'workers-run-7');
      assert.equal(inputs.metadata.namespace, 'batch');
      assert.equal(inputs.spec.parallelism, 12);
      assert.equal(inputs.spec.backoffLimit, 4);
      assert.equal(inputs.spec.completions, undefined);
      assert.equal(inputs.spec.template.spec.restartPolicy, 'Never');
      assert.equal(inputs.spec.template.spec.terminationGracePeriodSeconds, 30);
      assert.deepEqual(inputs.spec.template.spec.nodeSelector, { 'gke-batch/pool': 'workers' });
      assert.equal(inputs.spec.template.spec.tolerations[0].key, 'gke-batch/workers');
      const opts = options.get('drain') as pulumi.CustomResourceOptions;
      assert.equal(opts.deleteBeforeReplace, true);
      assert.deepEqual(opts.replaceOnChanges, ['spec.template']);
      assert.equal(opts.parent, parent);
    });
  });

  describe('continuous mode', () => {
    let keda: Keda;
    let scaler: SqsQueueScaler;

    before(async () => {
      keda = new Keda('keda', { nodeSelector: { 'gke-batch/pool': 'system' } }, { parent });
      scaler = new SqsQueueScaler(
        'scaler',
        {
          keda,
          namespace: 'batch',
          deploymentName: 'workers',
          queueUrl: QUEUE_URL,
          queueLength: 2,
          maxReplicas: 30,
          credentials: { secretName: 'aws-credentials' },
        },
        { parent },
      );
      await Promise.all([
        promiseOf(keda.namespace),
        promiseOf(scaler.hpaName),
        promiseOf(scaler.triggerAuthentication.urn),
      ]);
    });

    it('installs the pinned KEDA chart from the official repository into the keda namespace', () => {
      const release = find('kubernetes:helm.sh/v3:Release', 'keda-release').inputs;
      assert.equal(release.chart, 'keda');
      assert.equal(release.version, KEDA_CHART_VERSION);
      assert.match(KEDA_CHART_VERSION, /^\d+\.\d+\.\d+$/, 'an exact version, not a range');
      assert.equal(release.repositoryOpts.repo, KEDA_CHART_REPO);
      assert.equal(release.namespace, 'keda');
      assert.equal(release.createNamespace, true);
      assert.deepEqual(release.values.nodeSelector, { 'gke-batch/pool': 'system' });
      assert.equal(options.get('keda-release')?.parent, keda);
    });

    it('scales the Deployment on the SQS queue, counting in-flight tasks, from 0 to the maximum', async () => {
      const scaled = find('kubernetes:keda.sh/v1alpha1:ScaledObject', 'scaler-scaledobject').inputs;
      assert.equal(scaled.metadata.namespace, 'batch');
      assert.deepEqual(scaled.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'workers' });
      assert.equal(scaled.spec.minReplicaCount, 0);
      assert.equal(scaled.spec.maxReplicaCount, 30);
      assert.equal(scaled.spec.triggers.length, 1);
      const [trigger] = scaled.spec.triggers;
      assert.equal(trigger.type, 'aws-sqs-queue');
      assert.deepEqual(trigger.metadata, {
        queueURL: QUEUE_URL,
        awsRegion: 'eu-west-1',
        queueLength: '2',
        scaleOnInFlight: 'true',
      });
      assert.equal(trigger.authenticationRef.name, 'workers-sqs');
      assert.equal(await promiseOf(scaler.hpaName), 'keda-hpa-workers');
    });

    it('authenticates KEDA with the workers’ own AWS Secret', () => {
      const auth = find('kubernetes:keda.sh/v1alpha1:TriggerAuthentication', 'scaler-auth').inputs;
      assert.equal(auth.metadata.name, 'workers-sqs');
      assert.equal(auth.metadata.namespace, 'batch');
      assert.deepEqual(auth.spec.secretTargetRef, [
        { parameter: 'awsAccessKeyID', name: 'aws-credentials', key: 'AWS_ACCESS_KEY_ID' },
        { parameter: 'awsSecretAccessKey', name: 'aws-credentials', key: 'AWS_SECRET_ACCESS_KEY' },
      ]);
    });

    it('declares KEDA’s custom resources only after the Helm release that installs their CRDs', () => {
      for (const name of ['scaler-auth', 'scaler-scaledobject']) {
        const opts = options.get(name);
        assert.equal(opts?.parent, scaler, `${name} parent`);
        assert.deepEqual(opts?.dependsOn, [keda.release], `${name} dependsOn`);
      }
    });

    it('leaves spec.replicas of the KEDA-owned Deployment to KEDA', async () => {
      const deployment = new k8s.apps.v1.Deployment(
        'workers',
        {
          metadata: { name: 'workers', namespace: 'batch' },
          spec: {
            replicas: KEDA_INITIAL_REPLICAS,
            selector: { matchLabels: { app: 'w' } },
            template: { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'worker', image: 'w' }] } },
          },
        },
        kedaOwnedDeploymentOptions({ parent, ignoreChanges: ['metadata.annotations'] }),
      );
      await promiseOf(deployment.urn);
      assert.deepEqual(options.get('workers')?.ignoreChanges, ['metadata.annotations', 'spec.replicas']);
      assert.equal(find('kubernetes:apps/v1:Deployment', 'workers').inputs.spec.replicas, 0);
    });
  });

  describe('the Workers component', () => {
    /** The dev stack's validated config in the given mode. */
    const stackConfig = (mode: 'drain' | 'continuous') => {
      const values = devStack();
      values['gke-batch:queueUrl'] = DEV_QUEUE_URL;
      values['gke-batch:scaling'] = { mode, run: '5' };
      const result = validateStackConfig(asConfig(values), {
        taskDefaults: {
          queueUrl: 'fq://./local/queue',
          cloudpath: 'file://./local/outputs',
          leaseSeconds: 60,
          maxAttempts: 5,
          concurrency: 1,
          graceSeconds: 20,
        },
        projectDir: PROJECT_DIR,
        fileExists: () => true,
      });
      assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
      return result.config;
    };
    const declare = async (name: string, mode: 'drain' | 'continuous') => {
      const config = stackConfig(mode);
      const provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: '{}' }, { parent });
      const workers = new Workers(
        name,
        {
          provider,
          project: config.project,
          clusterName: config.clusterName,
          workloadPool: `${config.project}.svc.id.goog`,
          image: 'example/worker@sha256:' + 'd'.repeat(64),
          workers: config.workers,
          pool: config.workerPool,
          queueUrl: config.queueUrl,
          cloudpath: config.cloudpath,
          outputBucket: config.outputBucket,
          aws: {
            region: config.aws.region,
            accessKeyId: pulumi.secret('AKIAFAKE'),
            secretAccessKey: pulumi.secret('fake'),
          },
          scaling: config.scaling,
          systemPool: 'system',
        },
        { parent },
      );
      await promiseOf(workers.namespace);
      await Promise.all(
        [workers.job?.urn, workers.deployment?.urn, workers.scaler?.hpaName]
          .filter((o) => o !== undefined)
          .map((o) => promiseOf(o as pulumi.Output<string>)),
      );
      return workers;
    };

    it('continuous: the Deployment leaves spec.replicas to KEDA, and the scaler targets it', async () => {
      const workers = await declare('wc', 'continuous');
      assert.ok(workers.deployment && workers.scaler && !workers.job);
      assert.deepEqual(options.get('wc-deployment')?.ignoreChanges, ['spec.replicas']);
      assert.equal(find('kubernetes:apps/v1:Deployment', 'wc-deployment').inputs.spec.replicas, 0);
      assert.equal(
        find('kubernetes:keda.sh/v1alpha1:ScaledObject', 'wc-scaler-scaledobject').inputs.spec.scaleTargetRef.name,
        'workers',
      );
    });

    it('drain: the Job of run 5, replaced old-first when the run changes, and no Deployment', async () => {
      const workers = await declare('wd', 'drain');
      assert.ok(workers.job && !workers.deployment && !workers.keda);
      assert.equal(find('kubernetes:batch/v1:Job', 'wd-job').inputs.metadata.name, 'workers-run-5');
      const opts = options.get('wd-job') as pulumi.CustomResourceOptions;
      assert.equal(opts.deleteBeforeReplace, true);
      assert.equal(opts.parent, workers);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Through the real program.

const T = {
  job: 'kubernetes:batch/v1:Job',
  deployment: 'kubernetes:apps/v1:Deployment',
  release: 'kubernetes:helm.sh/v3:Release',
  scaledObject: 'kubernetes:keda.sh/v1alpha1:ScaledObject',
  triggerAuth: 'kubernetes:keda.sh/v1alpha1:TriggerAuthentication',
  nodePool: 'gcp:container/nodePool:NodePool',
} as const;
const DEV_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/gke-batch-dev';

type StackValues = Record<string, unknown>;
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- resource inputs are untyped JSON

/** Pulumi.dev.yaml as objects, with the AWS keys a user sets with --secret. */
function devStack(): StackValues {
  const values: StackValues = {};
  for (const [key, value] of Object.entries(readStackFile(path.join(PROJECT_DIR, 'Pulumi.dev.yaml')))) {
    values[key] = value.startsWith('{') || value.startsWith('[') ? JSON.parse(value) : value;
  }
  values['gke-batch:aws'] = {
    ...(values['gke-batch:aws'] as object),
    accessKeyId: 'AKIAFAKEFAKEFAKE',
    secretAccessKey: 'fake-secret-value',
  };
  return values;
}

function asConfig(values: StackValues): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
  );
}

function runStack(
  change: (values: StackValues & { scaling: Json; pools: Json[]; workers: Json }) => void = () => undefined,
): Promise<ProgramRun> {
  const values = devStack();
  change(
    Object.assign(values, {
      scaling: values['gke-batch:scaling'] as Json,
      pools: values['gke-batch:nodePools'] as Json[],
      workers: values['gke-batch:workers'] as Json,
    }),
  );
  const { scaling: _s, pools: _p, workers: _w, ...plain } = values;
  return runProgram(asConfig(plain), ['gke-batch:aws']);
}

function ofType(result: ProgramRun, type: string): DeclaredResource[] {
  return result.resources.filter((r) => r.type === type);
}

function only(result: ProgramRun, type: string): Json {
  const found = ofType(result, type);
  assert.equal(found.length, 1, `one ${type}, found ${found.length}`);
  return found[0].inputs;
}

function ok(result: ProgramRun): ProgramRun {
  assert.equal(result.error, undefined, `the program failed: ${result.error?.message}`);
  return result;
}

describe('infra program: drain mode (the dev stack)', () => {
  let dev: ProgramRun;
  before(async () => {
    dev = ok(await runStack());
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
      /^scaling: drain, up to 30 workers on 10 × e2-standard-4 spot nodes \(3 per node\); ≈ \$0\.\d+\/h at full scale: /,
    );
    assert.ok(dev.logs.info.includes(scaling.summary), 'the summary is logged at preview');
    assert.ok((dev.outputs.watch as string[]).includes('kubectl -n batch-workers get job workers-run-1 --watch'));
  });

  it('starts a new run under a new name, with the workers and backoff limit from the scaling section', async () => {
    const result = ok(
      await runStack((v) => {
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
    const result = ok(
      await runStack((v) => {
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
    result = ok(
      await runStack((v) => {
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

  it("scales the Deployment on the queue with the workers' own AWS Secret, in-flight tasks counted, 0 to maxWorkers", () => {
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
      ['awsAccessKeyID=aws-credentials/AWS_ACCESS_KEY_ID', 'awsSecretAccessKey=aws-credentials/AWS_SECRET_ACCESS_KEY'],
    );
    assert.equal(ofType(result, T.scaledObject)[0].parentType, 'gke-batch:scaling:SqsQueueScaler');
  });

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
    const failed = await runStack((v) => (v.scaling.mode = 'continuous'));
    assert.equal(failed.resources.length, 0);
    assert.match(
      failed.error?.message ?? '',
      /scaling\.mode continuous: KEDA reads the queue's length and needs its full AWS URL \(with region and account\), but queueUrl is sqs:\/\/gke-batch-dev/,
    );
  });
});

describe('infra program: spot pools, taints and placement', () => {
  it("gives a spot pool without a NoSchedule taint GKE's spot taint, which the workers tolerate", async () => {
    const result = ok(
      await runStack((v) => {
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
    const result = ok(
      await runStack((v) => {
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
    const result = await runStack((v) => {
      v['gke-batch:nodePools'] = [{ name: 'workers', machineType: 'e2-standard-4', minNodes: 0, maxNodes: 5 }];
    });
    assert.equal(result.resources.length, 0);
    assert.match(
      result.error?.message ?? '',
      /every pool is tainted \(spot pools get GKE's spot taint\) or has maxNodes 0/,
    );
  });

  it('reports bad scaling settings, each with its key, value and fix, all at once', async () => {
    const result = await runStack((v) => {
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
      /scaling\.kedaChartRepo oci:\/\/charts\.example\.invalid\/keda: must be the https:\/\/ URL of a Helm chart repository/,
    );
    assert.match(message, /scaling\.mode burst: must be drain or continuous/);
    assert.match(
      message,
      /scaling\.kedaChartVersion \^2\.20: must be an exact chart version such as 2\.20\.2, not a range/,
    );
    assert.match(message, /scaling\.backoffLimit -1: must be at least 0 crashes/);
    const tooMany = await runStack((v) => Object.assign(v.scaling, { maxWorkers: 31, run: 'Next_Run' }));
    assert.match(
      tooMany.error?.message ?? '',
      /scaling\.maxWorkers 31: pool workers holds at most 30 workers \(3\/node × 10 nodes\); raise nodePools\[1\]\.maxNodes to 11/,
    );
    assert.match(tooMany.error?.message ?? '', /scaling\.run Next_Run: must be lowercase letters/);
  });
});
