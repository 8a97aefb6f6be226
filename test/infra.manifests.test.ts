/**
 * The scaling plan's pure parts: the drain Job's manifest (validated against the Kubernetes schema
 * offline), the KEDA queue address and scaler arguments, the full-scale cost and the scaling
 * section's checks. No Pulumi, no mocks.
 */
import assert from 'node:assert/strict';
import * as pulumi from '@pulumi/pulumi';
import { parseQueueUrl } from '../lib/urls/queue';
import {
  drainJobManifest,
  drainJobName,
  EXIT_WHEN_EMPTY_ENV,
  runIdProblem,
  terminationGraceSeconds,
} from '../infra/plan/drainJob';
import { KEDA_CHART_REPO, KEDA_CHART_VERSION } from '../infra/plan/defaults';
import { checkScalerArgs, parseSqsQueueUrl } from '../infra/plan/keda';
import { machinePrice } from '../infra/plan/pricing';
import { estimateFullScaleCost, FullScaleInput, PoolToPrice, scalingSummary, workerNodesFor } from '../infra/plan/cost';
import { checkScaling, ScalingContext, ScalingInput } from '../infra/plan/scaling';
import { QUEUE_URL, podTemplate, drainArgs, plainJob } from './support/drainJobFixture';

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

  it(
    'keeps a finished Job (no TTL: a refresh + up must not start a run by itself), and Pulumi does not wait for the ' +
      'batch',
    () => {
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
    },
  );

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

  it("accepts another SQS server's URL only with that server's endpoint, in its region", () => {
    const local = 'http://sqs.us-east-1.localhost:4566/000000000000/q';
    assert.equal(parseSqsQueueUrl(local), undefined);
    assert.deepEqual(parseSqsQueueUrl(local, { region: 'eu-north-1' }), {
      url: local,
      region: 'eu-north-1',
      accountId: '000000000000',
      name: 'q',
    });
    assert.equal(parseSqsQueueUrl('sqs://q', { region: 'eu-north-1' }), undefined, 'still no account');
    const settings = { queueUrl: local, maxReplicas: 2 };
    assert.throws(() => checkScalerArgs(settings), /awsEndpoint and awsRegion/);
    assert.throws(() => checkScalerArgs({ ...settings, awsEndpoint: 'http://10.0.0.1:4566' }), /awsEndpoint/);
    const region = checkScalerArgs({ ...settings, awsEndpoint: 'http://10.0.0.1:4566', awsRegion: 'eu-north-1' });
    assert.equal(region, 'eu-north-1');
  });

  it('takes the region from the URL unless given, and lists every problem', () => {
    assert.equal(checkScalerArgs({ queueUrl: QUEUE_URL, maxReplicas: 5 }), 'eu-west-1');
    assert.equal(checkScalerArgs({ queueUrl: QUEUE_URL, maxReplicas: 5, awsRegion: 'eu-west-2' }), 'eu-west-2');
    assert.throws(
      () => checkScalerArgs({ queueUrl: 'sqs://primes', maxReplicas: 0, minReplicas: -1, queueLength: 0.5 }),
      (error: Error) =>
        /queue sqs:\/\/primes is not an SQS queue URL KEDA can watch/.test(error.message) &&
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
      new RegExp(
        String.raw`^scaling: continuous, up to 30 workers on 10 × e2-standard-4` +
          String.raw` spot nodes \(3 per node\); ≈ \$0\.\d{3}\/h at full scale: `,
      ),
    );
    assert.match(
      line,
      /worker nodes \$0\.\d{3}\/h, other pools at their minimum \$0\.\d{3}\/h, GKE cluster fee \$0\.100\/h/,
    );
    assert.match(
      line,
      new RegExp(
        String.raw`\(us-central1 list prices \(on-demand as of \d{4}-\d{2}, spot as of \d{4}-\d{2}\), ` +
          String.raw`approximate; Cloud NAT, egress, Artifact Registry storage, Pub/Sub and Monitoring usage and ` +
          String.raw`discounts not included; the cluster fee is charged for regional and zonal clusters alike ` +
          String.raw`\(free-tier credit not subtracted\)\)$`,
      ),
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
    assert.match(line, /\(free-tier credit not subtracted\); hyperdisk-balanced disks and GPUs not included\)$/);
  });
});

describe('infra/scaling: checking the scaling section', () => {
  const section = (overrides: Partial<ScalingInput> = {}): ScalingInput => ({
    mode: 'drain',
    run: '1',
    backoffLimit: 6,
    cooldownSeconds: 300,
    installKeda: true,
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
      "scaling.mode continuous: KEDA reads the queue's length and needs its full AWS URL (with region and account), " +
        'but queueUrl is sqs://primes; ' +
        'set queueUrl https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (npm run queue:create prints it; with ' +
        'aws.endpoint, the full URL that server gives), or use scaling.mode drain',
    ]);
    assert.deepEqual(
      check(section({ mode: 'drain' }), { ...context, queueUrl: 'sqs://primes', queue: parseQueueUrl('sqs://primes') })
        .problems,
      [],
    );
    const local = 'http://sqs.us-east-1.localhost:4566/000000000000/primes';
    const atLocal = { ...context, queueUrl: local, queue: parseQueueUrl(local) };
    assert.equal(check(section({ mode: 'continuous' }), atLocal).problems.length, 1, 'no endpoint: refused');
    const withEndpoint = check(section({ mode: 'continuous' }), { ...atLocal, sqsEndpoint: { region: 'us-east-1' } });
    assert.deepEqual(withEndpoint.problems, []);
    assert.equal(withEndpoint.scaling?.queue?.url, local);
  });

  it('reports more workers than the pool holds, a zero worker count and a bad run id together', () => {
    const { problems } = check(section({ maxWorkers: 50, run: 'Run 2' }));
    assert.deepEqual(problems, [
      'scaling.maxWorkers 50: pool workers holds at most 30 workers (3/node × 10 nodes); raise nodePools[1].maxNodes ' +
        'to 17, or lower scaling.maxWorkers to 30',
      "scaling.run Run 2: must be lowercase letters, digits and '-', starting and ending with a letter or digit " +
        '(e.g. 2 or 2026-05-01)',
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
