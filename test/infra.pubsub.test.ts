/**
 * A Pub/Sub queue in the stack: the plan's checks and grants (pure), and the program (index.ts)
 * under Pulumi's unit-test mocks in drain and continuous mode: topic, subscription and dead-letter
 * pair, the dead-letter policy, every IAM member on exactly its resource, KEDA's gcp-pubsub trigger
 * with pod identity, and no AWS anywhere. Pub/Sub itself is not reached (GCP is mocked).
 */
import assert from 'node:assert/strict';
import { gcpPodIdentityTriggerAuthentication, pubsubScaledObjectManifest } from '../infra/plan/kedaPubsub';
import {
  maxDeliveryAttemptsFor,
  MONITORING_VIEWER_ROLE,
  pubsubGrants,
  pubsubServiceAgent,
  PUBSUB_ROLES,
} from '../infra/plan/pubsub';
import { validateStackConfig } from '../infra/plan/validate';
import { SETTINGS } from '../lib/settings/table';
import { DevConfig, devConfig, problemsOf, runDev, TASK_DEFAULTS, validateDev } from './support/devStack';
import path from 'node:path';
import {
  DeclaredResource,
  FAKE_PROJECT_NUMBER,
  Inputs,
  PROJECT_DIR,
  ProgramRun,
  readStackFile,
  runProgram,
} from './support/pulumiProgram';

const T = {
  topic: 'gcp:pubsub/topic:Topic',
  subscription: 'gcp:pubsub/subscription:Subscription',
  topicMember: 'gcp:pubsub/topicIAMMember:TopicIAMMember',
  subscriptionMember: 'gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember',
  projectMember: 'gcp:projects/iAMMember:IAMMember',
  accountMember: 'gcp:serviceaccount/iAMMember:IAMMember',
  account: 'gcp:serviceaccount/account:Account',
  secret: 'kubernetes:core/v1:Secret',
  job: 'kubernetes:batch/v1:Job',
  deployment: 'kubernetes:apps/v1:Deployment',
  release: 'kubernetes:helm.sh/v3:Release',
  scaledObject: 'kubernetes:keda.sh/v1alpha1:ScaledObject',
  triggerAuth: 'kubernetes:keda.sh/v1alpha1:TriggerAuthentication',
} as const;

const PROJECT = 'my-gcp-project';
const QUEUE = `pubsub://${PROJECT}/jobs`;
const AGENT = `serviceAccount:service-${FAKE_PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
const WORKERS = `serviceAccount:gke-batch-dev-workers@${PROJECT}.iam.gserviceaccount.com`;
const KEDA_GSA = `gke-batch-dev-keda@${PROJECT}.iam.gserviceaccount.com`;

/** The dev stack on Pub/Sub with gs:// outputs and no aws key at all, as a GCP-only user sets it. */
function pubsubStack(change: (c: DevConfig) => void = () => undefined) {
  return (c: DevConfig) => {
    c['gke-batch:queueUrl'] = QUEUE;
    delete c['gke-batch:aws'];
    change(c);
  };
}

function ofType(result: ProgramRun, type: string): DeclaredResource[] {
  return result.resources.filter((r) => r.type === type);
}

function only(result: ProgramRun, type: string): DeclaredResource {
  const found = ofType(result, type);
  assert.equal(found.length, 1, `one ${type}, found ${found.length}`);
  return found[0];
}

function ok(result: ProgramRun): ProgramRun {
  assert.equal(result.error, undefined, `the program failed: ${result.error?.message}`);
  return result;
}

/** Every IAM member on a Pub/Sub resource as "kind id role member", sorted. */
function pubsubMembers(result: ProgramRun): string[] {
  return [
    ...ofType(result, T.topicMember).map((r) => `topic ${r.inputs.topic} ${r.inputs.role} ${r.inputs.member}`),
    ...ofType(result, T.subscriptionMember).map(
      (r) => `subscription ${r.inputs.subscription} ${r.inputs.role} ${r.inputs.member}`,
    ),
  ].sort();
}

/** Anything that would carry AWS credentials into the cluster. */
function awsTraces(result: ProgramRun): string[] {
  const traces = ofType(result, T.secret).map((r) => `Secret ${r.name}`);
  for (const r of result.resources) {
    const text = JSON.stringify(r.inputs);
    for (const word of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'aws-credentials', 'awsAccessKey'])
      if (text.includes(word)) traces.push(`${r.type} ${r.name}: ${word}`);
  }
  return traces;
}

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

describe('infra pubsub: the program in drain mode', () => {
  let run: ProgramRun;
  before(async () => {
    run = ok(await runDev(pubsubStack()));
  });

  it('creates the topic, the subscription with its dead-letter policy, and the dead-letter pair', () => {
    const topics = ofType(run, T.topic).map((r) => `${r.inputs.project}/${r.inputs.name}`);
    assert.deepEqual(topics.sort(), [`${PROJECT}/jobs`, `${PROJECT}/jobs-dead`]);
    const subscriptions = new Map(ofType(run, T.subscription).map((r) => [r.inputs.name as string, r.inputs]));
    assert.deepEqual([...subscriptions.keys()].sort(), ['jobs', 'jobs-dead']);
    const main = subscriptions.get('jobs') as Inputs;
    assert.equal(main.topic, 'jobs');
    assert.equal(main.project, PROJECT);
    assert.equal(main.ackDeadlineSeconds, 60, 'the ack deadline is workers.leaseSeconds');
    assert.deepEqual(main.deadLetterPolicy, {
      deadLetterTopic: `projects/${PROJECT}/topics/jobs-dead`,
      maxDeliveryAttempts: 6,
    });
    assert.equal(main.messageRetentionDuration, '604800s');
    assert.deepEqual(main.expirationPolicy, { ttl: '' });
    const dead = subscriptions.get('jobs-dead') as Inputs;
    assert.equal(dead.topic, 'jobs-dead', 'dead letters have a subscription, so failures can read them');
    assert.equal(dead.deadLetterPolicy, undefined);
    assert.deepEqual(dead.expirationPolicy, { ttl: '' });
    const deadTopicUrn = ofType(run, T.topic).find((r) => r.inputs.name === 'jobs-dead')?.options.urn;
    const mainUrn = ofType(run, T.subscription).find((r) => r.inputs.name === 'jobs')?.options;
    assert.ok(deadTopicUrn && mainUrn?.dependencies.includes(deadTopicUrn), 'the policy waits for its topic');
  });

  it('grants the service agent, and the workers only what they use, on those resources only', () => {
    assert.deepEqual(
      pubsubMembers(run),
      [
        `subscription jobs roles/pubsub.subscriber ${AGENT}`,
        `subscription jobs roles/pubsub.subscriber ${WORKERS}`,
        `subscription jobs roles/pubsub.viewer ${WORKERS}`,
        `topic jobs-dead roles/pubsub.publisher ${AGENT}`,
        `topic jobs-dead roles/pubsub.publisher ${WORKERS}`,
      ].sort(),
    );
    for (const r of [...ofType(run, T.topicMember), ...ofType(run, T.subscriptionMember)])
      assert.equal(r.inputs.project, PROJECT);
    const projectRoles = ofType(run, T.projectMember).map((r) => r.inputs.role as string);
    assert.deepEqual(
      projectRoles.filter((role) => role.startsWith('roles/pubsub') || role === MONITORING_VIEWER_ROLE),
      [],
      'nothing project-wide',
    );
  });

  it('has no AWS key anywhere: no Secret, no AWS variable, the queue by Workload Identity', () => {
    assert.deepEqual(awsTraces(run), []);
    const job = only(run, T.job);
    const container = job.inputs.spec.template.spec.containers[0];
    const env = new Map((container.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value]));
    assert.equal(env.get(SETTINGS.queueUrl.env), `pubsub://projects/${PROJECT}/topics/jobs/subscriptions/jobs`);
    assert.equal(env.get(SETTINGS.exitWhenEmpty.env), '1', 'drain: the workers exit once the queue is empty');
    assert.equal(job.inputs.spec.template.spec.serviceAccountName, 'worker');
    const grantUrns = [...ofType(run, T.topicMember), ...ofType(run, T.subscriptionMember)].map((r) => r.options.urn);
    for (const urn of grantUrns) assert.ok(job.options.dependencies.includes(urn), `the Job waits for ${urn}`);
    assert.equal(ofType(run, T.release).length + ofType(run, T.scaledObject).length, 0, 'no KEDA in drain mode');
  });

  it('declares only roles on existing resources with createQueue false', async () => {
    const existing = ok(await runDev(pubsubStack((c) => (c['gke-batch:pubsub'] = { createQueue: false }))));
    assert.equal(ofType(existing, T.topic).length + ofType(existing, T.subscription).length, 0);
    assert.deepEqual(pubsubMembers(existing), pubsubMembers(run));
  });

  it('gives each operator what status, failures, requeue and purge need, on the queue only', async () => {
    const op = 'group:batch-ops@example.com';
    const withOps = ok(await runDev(pubsubStack((c) => (c['gke-batch:pubsub'] = { operators: [op] }))));
    assert.deepEqual(
      pubsubMembers(withOps).filter((m) => m.endsWith(op)),
      [
        `subscription jobs roles/pubsub.subscriber ${op}`,
        `subscription jobs roles/pubsub.viewer ${op}`,
        `subscription jobs-dead roles/pubsub.subscriber ${op}`,
        `subscription jobs-dead roles/pubsub.viewer ${op}`,
        `topic jobs roles/pubsub.publisher ${op}`,
      ],
    );
  });
});

describe('infra pubsub: the program in continuous mode', () => {
  let run: ProgramRun;
  before(async () => {
    run = ok(await runDev(pubsubStack((c) => (c.scaling.mode = 'continuous'))));
  });

  it("scales on KEDA's gcp-pubsub trigger with pod identity, not a Secret", () => {
    const auth = only(run, T.triggerAuth).inputs;
    assert.deepEqual(auth.spec, { podIdentity: { provider: 'gcp' } });
    const scaled = only(run, T.scaledObject).inputs;
    assert.equal(scaled.spec.triggers.length, 1);
    const [trigger] = scaled.spec.triggers;
    assert.equal(trigger.type, 'gcp-pubsub');
    assert.equal(trigger.authenticationRef.name, auth.metadata.name);
    assert.deepEqual(trigger.metadata, {
      subscriptionName: `projects/${PROJECT}/subscriptions/jobs`,
      mode: 'SubscriptionSize',
      value: '1',
    });
    assert.equal(scaled.spec.maxReplicaCount, 30);
    assert.deepEqual(awsTraces(run), []);
  });

  it("gives KEDA's operator its own Google identity, allowed to read Cloud Monitoring", () => {
    const account = ofType(run, T.account).find((r) => r.inputs.accountId === 'gke-batch-dev-keda');
    assert.ok(account, 'a service account for KEDA');
    const monitoring = ofType(run, T.projectMember).filter((r) => r.inputs.role === MONITORING_VIEWER_ROLE);
    assert.deepEqual(
      monitoring.map((r) => [r.inputs.project, r.inputs.member]),
      [[PROJECT, `serviceAccount:${KEDA_GSA}`]],
    );
    const binding = ofType(run, T.accountMember).find((r) => String(r.inputs.member).includes('keda-operator'));
    assert.equal(binding?.inputs.member, `serviceAccount:${PROJECT}.svc.id.goog[keda/keda-operator]`);
    assert.equal(binding?.inputs.role, 'roles/iam.workloadIdentityUser');
    const release = only(run, T.release);
    assert.deepEqual(release.inputs.values.podIdentity, { gcp: { enabled: true, gcpIAMServiceAccount: KEDA_GSA } });
    for (const grant of [...monitoring, binding as DeclaredResource])
      assert.ok(release.options.dependencies.includes(grant.options.urn), 'KEDA starts after its grants');
  });

  it('runs pods with no AWS checksum, still safe from autoscaler eviction', () => {
    const annotations = only(run, T.deployment).inputs.spec.template.metadata.annotations;
    assert.deepEqual(annotations, { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' });
  });

  it('reads the backlog and grants in the queue’s own project when it is another one', async () => {
    const other = ok(
      await runDev(
        pubsubStack((c) => {
          c.scaling.mode = 'continuous';
          c['gke-batch:queueUrl'] = 'pubsub://projects/shared-queues-1/topics/jobs/subscriptions/workers';
        }),
      ),
    );
    const monitoring = ofType(other, T.projectMember).filter((r) => r.inputs.role === MONITORING_VIEWER_ROLE);
    assert.deepEqual(
      monitoring.map((r) => r.inputs.project),
      ['shared-queues-1'],
    );
    assert.deepEqual(
      ofType(other, T.subscription)
        .map((r) => `${r.inputs.project}/${r.inputs.name}<-${r.inputs.topic}`)
        .sort(),
      ['shared-queues-1/jobs-dead<-jobs-dead', 'shared-queues-1/workers<-jobs'],
    );
    assert.equal(
      only(other, T.scaledObject).inputs.spec.triggers[0].metadata.subscriptionName,
      'projects/shared-queues-1/subscriptions/workers',
    );
  });
});

describe('infra pubsub: the shipped Google-Cloud-only stack (Pulumi.gcp.yaml)', () => {
  it('deploys as it is: Pub/Sub created by the stack, gs:// outputs, nothing of AWS', async () => {
    const run = ok(await runProgram(readStackFile(path.join(PROJECT_DIR, 'Pulumi.gcp.yaml'))));
    assert.deepEqual(awsTraces(run), []);
    assert.deepEqual(
      ofType(run, T.topic)
        .map((r) => r.inputs.name)
        .sort(),
      ['gke-batch-gcp', 'gke-batch-gcp-dead'],
    );
    const env = only(run, T.job).inputs.spec.template.spec.containers[0].env as Array<{ name: string }>;
    assert.deepEqual(
      env.map((e) => e.name).filter((name) => name.startsWith('AWS')),
      [],
    );
    assert.equal(run.logs.warn.length, 0, run.logs.warn.join('\n'));
  });
});
