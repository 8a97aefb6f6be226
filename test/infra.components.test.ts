/**
 * The scaling components (Keda, SqsQueueScaler, Workers, the drain Job) declared under Pulumi's
 * unit-test mocks. Resource options (ignoreChanges, deleteBeforeReplace, dependsOn) never reach
 * the mocks' callback, so a transformation on a test parent records them.
 */
import assert from 'node:assert/strict';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { createDrainJob } from '../infra/components/drainJob';
import { Keda, kedaOwnedDeploymentOptions, SqsQueueScaler } from '../infra/components/keda';
import { KEDA_CHART_REPO, KEDA_CHART_VERSION, KEDA_INITIAL_REPLICAS } from '../infra/plan/defaults';
import { validateStackConfig } from '../infra/plan/validate';
import { Workers } from '../infra/components/workers';
import { PROJECT_DIR } from './support/pulumiProgram';
import { devConfig } from './support/devStack';
import { QUEUE_URL, drainArgs } from './support/drainJobFixture';

interface Registered {
  readonly type: string;
  readonly name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mock inputs are untyped JSON
  readonly inputs: Record<string, any>;
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
      assert.deepEqual(opts.ignoreChanges, ['spec.parallelism']);
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
    const stackConfig = (mode: 'drain' | 'continuous', scaling: Record<string, unknown> = {}) => {
      const values = devConfig((c) => {
        c['gke-batch:queueUrl'] = 'https://sqs.us-east-1.amazonaws.com/123456789012/gke-batch-dev';
        c['gke-batch:scaling'] = { mode, run: '5', ...scaling };
      });
      const result = validateStackConfig(values, {
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
    const declare = async (
      name: string,
      mode: 'drain' | 'continuous',
      { scaling, endpoint }: { scaling?: Record<string, unknown>; endpoint?: string } = {},
    ) => {
      const config = stackConfig(mode, scaling);
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
            region: config.aws?.region ?? assert.fail('an SQS stack has AWS settings'),
            accessKeyId: pulumi.secret('AKIAFAKE'),
            secretAccessKey: pulumi.secret('fake'),
            ...(endpoint ? { endpoint } : {}),
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

    it("continuous, installKeda false: no Helm release; KEDA reads the queue at the workers' endpoint", async () => {
      const installed = await declare('wi', 'continuous');
      assert.ok(installed.keda, 'KEDA is installed by default');
      assert.ok(registered.some((r) => r.type === 'kubernetes:helm.sh/v3:Release' && r.name === 'wi-keda-release'));
      const workers = await declare('wk', 'continuous', {
        scaling: { installKeda: false },
        endpoint: 'http://10.0.0.1:4566',
      });
      assert.ok(workers.scaler && !workers.keda);
      const releases = registered.filter((r) => r.type === 'kubernetes:helm.sh/v3:Release' && r.name.startsWith('wk'));
      assert.deepEqual(releases, [], 'no KEDA release');
      const trigger = find('kubernetes:keda.sh/v1alpha1:ScaledObject', 'wk-scaler-scaledobject').inputs.spec
        .triggers[0];
      assert.equal(trigger.metadata.awsEndpoint, 'http://10.0.0.1:4566');
      const plain = find('kubernetes:keda.sh/v1alpha1:ScaledObject', 'wi-scaler-scaledobject').inputs.spec.triggers[0];
      assert.equal(plain.metadata.awsEndpoint, undefined, 'AWS itself: no endpoint');
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
