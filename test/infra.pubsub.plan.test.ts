/**
 * A Pub/Sub queue in the stack, the pure part: the plan's grants, the KEDA manifests and the
 * validation of the stack config against Pub/Sub's limits. No Pulumi, no mocks
 * (the program under mocks: test/infra.pubsub.test.ts).
 */
import assert from 'node:assert/strict';
import { gcpPodIdentityTriggerAuthentication, pubsubScaledObjectManifest } from '../infra/plan/kedaPubsub';
import { maxDeliveryAttemptsFor, pubsubGrants, pubsubServiceAgent, PUBSUB_ROLES } from '../infra/plan/pubsub';
import { validateStackConfig } from '../infra/plan/validate';
import { devConfig, problemsOf, TASK_DEFAULTS, validateDev } from './support/devStack';
import { PUBSUB_PROJECT as PROJECT, PUBSUB_QUEUE as QUEUE, pubsubStack } from './support/pubsubStack';
import { PROJECT_DIR } from './support/pulumiProgram';

describe('infra pubsub: the plan', () => {
  it('forwards dead letters one delivery after the workers give up, within Pub/Sub 5–100', () => {
    assert.equal(maxDeliveryAttemptsFor(5), 6);
    assert.equal(maxDeliveryAttemptsFor(4), 5);
    assert.equal(pubsubServiceAgent('42'), 'serviceAccount:service-42@gcp-sa-pubsub.iam.gserviceaccount.com');
  });

  it('grants each role on one resource: the agent forwards, workers lease and dead-letter, operators requeue', () => {
    const grants = pubsubGrants('A', 'W', ['user:op@example.com']).map((g) => `${g.on} ${g.role} ${g.member}`);
    assert.deepEqual(grants.sort(), [
      `deadSubscription ${PUBSUB_ROLES.subscriber} user:op@example.com`,
      `deadSubscription ${PUBSUB_ROLES.viewer} user:op@example.com`,
      `deadTopic ${PUBSUB_ROLES.publisher} A`,
      `deadTopic ${PUBSUB_ROLES.publisher} W`,
      `subscription ${PUBSUB_ROLES.subscriber} A`,
      `subscription ${PUBSUB_ROLES.subscriber} W`,
      `subscription ${PUBSUB_ROLES.subscriber} user:op@example.com`,
      `subscription ${PUBSUB_ROLES.viewer} W`,
      `subscription ${PUBSUB_ROLES.viewer} user:op@example.com`,
      `topic ${PUBSUB_ROLES.publisher} user:op@example.com`,
    ]);
    const names = pubsubGrants('A', 'W', ['user:a@example.com', 'user:b@example.com']).map((g) => g.name);
    assert.equal(new Set(names).size, names.length, 'resource names are unique');
  });

  it('scales on the subscription backlog through pod identity, with no secret', () => {
    const auth = gcpPodIdentityTriggerAuthentication('w-pubsub', 'ns');
    assert.deepEqual(auth.spec, { podIdentity: { provider: 'gcp' } });
    const scaled = pubsubScaledObjectManifest('workers', 'ns', 'w-pubsub', {
      subscriptionName: 'projects/p-123456/subscriptions/jobs',
      maxReplicas: 7,
      queueLength: 3,
      cooldownSeconds: 120,
    });
    assert.deepEqual(scaled.spec.triggers, [
      {
        type: 'gcp-pubsub',
        authenticationRef: { name: 'w-pubsub' },
        metadata: { subscriptionName: 'projects/p-123456/subscriptions/jobs', mode: 'SubscriptionSize', value: '3' },
      },
    ]);
    assert.equal(scaled.spec.maxReplicaCount, 7);
    assert.equal(scaled.spec.minReplicaCount, 0);
    assert.equal(scaled.spec.cooldownPeriod, 120);
    assert.throws(
      () => pubsubScaledObjectManifest('w', 'ns', 'a', { subscriptionName: 'jobs', maxReplicas: 0, queueLength: 0 }),
      new RegExp(
        String.raw`^Error: Pub/Sub queue scaler: subscriptionName jobs is not projects/PROJECT/subscriptions/NAME; ` +
          String.raw`maxReplicas must be a whole number ≥ 1, got 0; queueLength must be a whole number ≥ 1, got 0$`,
      ),
    );
  });
});

describe('infra pubsub: validation', () => {
  it('resolves the queue: names, ack deadline = lease, dead-letter policy, no AWS settings', () => {
    const result = validateDev(pubsubStack());
    assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
    assert.equal(result.config.aws, undefined);
    assert.deepEqual(
      result.warnings.filter((w) => /aws/i.test(w)),
      [],
    );
    const plan = result.config.pubsub;
    assert.ok(plan);
    assert.deepEqual(
      [plan.topicName, plan.subscriptionName, plan.deadTopicName, plan.deadSubscriptionName],
      [
        `projects/${PROJECT}/topics/jobs`,
        `projects/${PROJECT}/subscriptions/jobs`,
        `projects/${PROJECT}/topics/jobs-dead`,
        `projects/${PROJECT}/subscriptions/jobs-dead`,
      ],
    );
    assert.equal(plan.ackDeadlineSeconds, 60);
    assert.equal(plan.maxDeliveryAttempts, 6);
    assert.equal(plan.create, true);
  });

  it('refuses a lease Pub/Sub cannot hold, naming the setting and the range', () => {
    for (const lease of [601, 3600, 9]) {
      const problems = problemsOf(pubsubStack((c) => (c.workers.leaseSeconds = lease)));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(
        problems[0],
        new RegExp(
          `^workers\\.leaseSeconds ${lease}: a Pub/Sub queue's lease is its subscription's ack deadline, ` +
            `which Pub/Sub allows from 10 to 600 s; set it within that range: pulumi config set --path ` +
            `gke-batch:workers.leaseSeconds ${lease > 600 ? 600 : 10} `,
        ),
      );
    }
  });

  it('says where a lease it refuses came from when the stack does not set it', () => {
    const result = validateStackConfig(
      devConfig(
        pubsubStack((c) => {
          delete c.workers.leaseSeconds;
        }),
      ),
      {
        taskDefaults: { ...TASK_DEFAULTS, leaseSeconds: 900 },
        taskDefaultsSource: 'config/task.env',
        projectDir: PROJECT_DIR,
        fileExists: () => true,
      },
    );
    assert.equal(result.ok, false);
    assert.match(
      result.ok ? '' : result.problems.join('\n'),
      new RegExp(`^workers\\.leaseSeconds 900 \\(from config/task\\.env\\): a Pub/Sub queue's lease`, 'm'),
    );
  });

  it('refuses max attempts the dead-letter policy cannot take, and takes both ends of the range', () => {
    for (const [attempts, suggestion] of [
      [3, 4],
      [1, 4],
      [100, 99],
    ]) {
      const problems = problemsOf(pubsubStack((c) => (c.workers.maxAttempts = attempts)));
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.equal(
        problems[0],
        `workers.maxAttempts ${attempts}: on Pub/Sub the subscription's dead-letter policy forwards a task after ` +
          `maxAttempts + 1 = ${attempts + 1} deliveries (one more than the workers try, so their own dead letter ` +
          'with its failure record comes first), and Pub/Sub allows 5–100; set workers.maxAttempts to 4–99: ' +
          `pulumi config set --path gke-batch:workers.maxAttempts ${suggestion}`,
      );
    }
    for (const [attempts, deliveries] of [
      [4, 5],
      [99, 100],
    ]) {
      const result = validateDev(pubsubStack((c) => (c.workers.maxAttempts = attempts)));
      assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
      assert.equal(result.config.pubsub?.maxDeliveryAttempts, deliveries);
    }
  });

  it('warns that private nodes without NAT need Private Google Access for Pub/Sub', () => {
    const result = validateDev(
      pubsubStack((c) => {
        c['gke-batch:privateNodes'] = 'true';
        c['gke-batch:cloudNat'] = 'false';
      }),
    );
    assert.ok(result.ok);
    assert.ok(
      result.warnings.some((w) =>
        w.startsWith(
          'cloudNat false with privateNodes true: nodes have no external IP, so pods reach Pub/Sub and Cloud ' +
            "Storage only if the nodes' subnet in default has Private Google Access",
        ),
      ),
      result.warnings.join('\n'),
    );
  });

  it('refuses an operator that is not an IAM principal', () => {
    const problems = problemsOf(pubsubStack((c) => (c['gke-batch:pubsub'] = { operators: ['me@example.com'] })));
    assert.deepEqual(problems, [
      'pubsub.operators[0] "me@example.com": is not an IAM principal; write it as IAM does, e.g. ' +
        'user:me@example.com, group:team@example.com or serviceAccount:NAME@PROJECT.iam.gserviceaccount.com',
    ]);
  });

  it('warns about AWS keys nothing uses, and still needs them for s3:// outputs', () => {
    const unused = validateDev((c) => (c['gke-batch:queueUrl'] = QUEUE));
    assert.ok(unused.ok);
    assert.equal(unused.config.aws, undefined);
    assert.ok(
      unused.warnings.some((w) => w.startsWith('aws is set but nothing in this stack uses AWS')),
      unused.warnings.join('\n'),
    );
    const problems = problemsOf(pubsubStack((c) => (c['gke-batch:cloudpath'] = 's3://my-bucket/out')));
    assert.deepEqual(problems, [
      'aws.region is not set: the workers need it for S3 outputs (s3://); pulumi config set --path ' +
        'gke-batch:aws.region us-east-1',
      'aws.accessKeyId is not set: the workers need it for S3 outputs (s3://); pulumi config set --secret --path ' +
        'gke-batch:aws.accessKeyId AKIA...',
      'aws.secretAccessKey is not set: the workers need it for S3 outputs (s3://); pulumi config set --secret ' +
        '--path gke-batch:aws.secretAccessKey ...',
    ]);
  });
});
